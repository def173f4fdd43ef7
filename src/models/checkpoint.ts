// Loads a Hugging Face model folder: config.json (normalised), the safetensors weights (single or sharded) as
// f32, the tokenizer and generation_config.json. Every expected tensor is checked against the header first and
// all missing or mis-shaped ones are reported in one LK_WEIGHTS error, before any tensor data is read; tensors
// are then streamed in file order (reading overlaps conversion) and NaN/Inf is refused (LK_NONFINITE). Nothing
// partially loaded is ever returned. Not a graph builder (see llama.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LorakitError } from '../errors.js';
import { expectedWeights, loadConfig, type ModelConfig } from './config.js';
import { checkpointNames } from './modules.js';
import { loadGenerationConfig, type GenerationConfig } from './generation-config.js';
import { floatDtypes, openSafetensors, type SafetensorsDtype, type TensorInfo } from './safetensors.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { type QuantizedBase, makeQuantizedBase, quantizePart, quantizedLayout, quantizedTensorNames } from './quant/base.js';
import { type QuantizedSink, type QuantizedTensor, memorySink } from './quant/quantize.js';
import { PackedStore } from './quant/store.js';
import { type QuantOptions, quantLabel, resolveQuantScheme } from './quant/scheme.js';

export interface LoadCheckpointOptions {
  /** Load tokenizer.json too (default true; skipped silently when the folder has none). */
  readonly tokenizer?: boolean;
  /** Called after each tensor is read. */
  readonly onTensor?: (done: number, total: number, name: string) => void;
  /**
   * Quantize the linear weights, embeddings and LM head while loading, one tensor at a time ('int8' | 'int4', or
   * the full options); norms and biases stay float32.
   */
  readonly quantize?: QuantOptions['quantize'] | QuantOptions;
  /**
   * Where quantized tensors live: 'files' (default) spills them to a per-process temp folder that ORT maps, so no JS
   * copy stays beside the sessions' prepacked ones (see quant/store.ts); 'memory' keeps them in JS arrays.
   */
  readonly quantizedIn?: 'files' | 'memory';
  /** Floats per part when quantizing (whole rows; default QUANT_PART_ELEMENTS). Smaller in tests, to split tensors. */
  readonly quantPartElements?: number;
}

/**
 * A quantized tensor streams in parts of about this many floats (4 MiB), each quantized as it arrives: no float32
 * buffer of the largest tensor is ever needed (an 8B model's 128K embedding is 2.1 GB as float32). Smaller parts
 * than 4M floats also loaded a 1B shape faster (8.3 s against 8.9 s, measured).
 */
export const QUANT_PART_ELEMENTS = 1 << 20;

export interface Checkpoint {
  readonly dir: string;
  readonly config: ModelConfig;
  /** By the canonical HF name of expectedWeights() (gpt2 always with the 'transformer.' prefix); float tensors only. */
  readonly weights: Map<string, Float32Array>;
  /** The quantized tensors when loaded with `quantize` (they are not in `weights`; their shapes are in `shapes`). */
  readonly quant?: QuantizedBase;
  /** 'none', or the scheme label such as 'int4-b32-sym-acc8': part of the base's identity. */
  readonly quantization: string;
  readonly shapes: Map<string, number[]>;
  /** The floating dtype holding most parameters on disk ('F32', 'BF16', 'F16'). */
  readonly dtypeOnDisk: SafetensorsDtype;
  /** Elements per dtype on disk, over the loaded tensors. */
  readonly dtypesOnDisk: Readonly<Partial<Record<SafetensorsDtype, number>>>;
  /** Tensors in the files that the architecture does not use (buffers such as attn.bias, a tied lm_head). */
  readonly ignored: readonly string[];
  readonly parameters: number;
  readonly tokenizer?: Tokenizer;
  readonly generationConfig: GenerationConfig;
  readonly loadMs: number;
  /** process.memoryUsage().rss right after loading. */
  readonly rssBytes: number;
  /** The process's peak RSS so far (process.resourceUsage().maxRSS), which includes the load. */
  readonly peakRssBytes: number;
}

/** Where `name` lives in the file: as is, or without a prefix the family lets checkpoints omit. */
function sourceName(name: string, cfg: ModelConfig, has: (n: string) => boolean): string | undefined {
  return checkpointNames(cfg, name).find(has);
}

export async function loadCheckpoint(dir: string, opts: LoadCheckpointOptions = {}): Promise<Checkpoint> {
  const t0 = performance.now();
  const config = loadConfig(dir);
  const generationConfig = loadGenerationConfig(dir);
  const wantTokenizer = (opts.tokenizer ?? true) && existsSync(join(dir, 'tokenizer.json'));
  const tokenizer = wantTokenizer ? await loadTokenizer(dir) : undefined;
  const scheme = resolveQuantScheme(typeof opts.quantize === 'string' ? { quantize: opts.quantize } : opts.quantize ?? {});
  const set = openSafetensors(dir);
  const store = scheme && opts.quantizedIn !== 'memory' ? PackedStore.temp() : undefined;
  try {
    const expected = expectedWeights(config);
    const problems: string[] = [];
    const badTensors: string[] = [];
    const plan: [string, string][] = [];
    for (const [name, shape] of expected) {
      const src = sourceName(name, config, (n) => set.tensors.has(n));
      const t = src === undefined ? undefined : set.tensors.get(src);
      if (!t) { problems.push(`'${name}' is missing (expected shape [${shape.join(', ')}])`); badTensors.push(name); continue; }
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        problems.push(`'${src}' in '${t.file}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`); badTensors.push(name);
      } else if (!floatDtypes.includes(t.dtype)) {
        problems.push(`'${src}' in '${t.file}' has dtype ${t.dtype}, expected one of ${floatDtypes.join(', ')}`); badTensors.push(name);
      } else plan.push([name, src!]);
    }
    if (problems.length > 0) {
      throw new LorakitError('LK_WEIGHTS', `'${set.source}' does not fit the ${config.modelType} architecture of '${config.file}' ` +
        `(${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
        details: { file: set.source, config: config.file, tensors: badTensors, problems },
        hint: 'the weights and config.json must come from the same model',
      });
    }
    const used = new Set(plan.map(([, s]) => s));
    const ignored = [...set.tensors.keys()].filter((n) => !used.has(n));
    const loaded = new Map<string, Float32Array>();
    const toQuantize = scheme ? quantizedTensorNames(config) : new Map<string, { transposedOnDisk: boolean }>();
    const quantized = new Map<string, QuantizedTensor>();
    const shapes = new Map<string, number[]>();
    const dtypes: Partial<Record<SafetensorsDtype, number>> = {};
    let parameters = 0;
    // Read in file order (sequential I/O), pipelined: the next chunk is read on the thread pool while this one is
    // widened. NaN/Inf in a base weight is refused here, naming the tensor (issue 13). When quantizing, two scratch
    // buffers are reused and a tensor that is only quantized arrives in parts of whole rows, each quantized (in ORT)
    // and appended to its files while the next is read: the model never exists in float32, nor does its largest tensor.
    const namesOf = new Map<string, string[]>();
    for (const [name, src] of plan) namesOf.set(src, [...(namesOf.get(src) ?? []), name]);
    const order = [...namesOf.keys()].map((src) => set.tensors.get(src)!)
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.begin - b.begin));
    const numel = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);
    const partTarget = opts.quantPartElements ?? QUANT_PART_ELEMENTS;
    const partElements = (t: TensorInfo): number => {
      const rowWise = t.shape.length === 2 && namesOf.get(t.name)!.every((n) => toQuantize.get(n)?.transposedOnDisk === false);
      return scheme && rowWise ? Math.max(1, Math.floor(partTarget / t.shape[1])) * t.shape[1] : numel(t);
    };
    const sinks = new Map<string, QuantizedSink>();
    const stream = set.streamFloat32(order.map((t) => t.name), { requireFinite: true, reuse: scheme !== null, partElements });
    for await (const { info, data, offset } of stream) {
      const last = offset + data.length >= numel(info);
      for (const name of namesOf.get(info.name)!) {
        const q = toQuantize.get(name);
        if (q && scheme) {
          const layout = quantizedLayout(name, info.shape, scheme, q.transposedOnDisk);
          if (offset === 0) sinks.set(name, store ? store.sink(layout) : memorySink(layout));
          sinks.get(name)!.append(await quantizePart(data, layout, q.transposedOnDisk));
          if (last) quantized.set(name, sinks.get(name)!.finish());
        } else loaded.set(name, scheme ? data.slice() : data);
        parameters += data.length;
        dtypes[info.dtype] = (dtypes[info.dtype] ?? 0) + data.length;
        if (last) opts.onTensor?.(loaded.size + quantized.size, plan.length, name);
      }
    }
    // The map keeps expectedWeights() order, whatever the file order.
    const weights = new Map<string, Float32Array>();
    for (const [name, src] of plan) {
      const w = loaded.get(name);
      if (w) weights.set(name, w);
      shapes.set(name, [...set.tensors.get(src)!.shape]);
    }
    const dtypeOnDisk = (Object.entries(dtypes) as [SafetensorsDtype, number][]).sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
    return {
      dir, config, weights, shapes, dtypeOnDisk, dtypesOnDisk: dtypes, ignored, parameters, generationConfig,
      quantization: quantLabel(scheme), ...(scheme ? { quant: makeQuantizedBase(scheme, quantized, store) } : {}),
      ...(tokenizer ? { tokenizer } : {}),
      loadMs: performance.now() - t0, rssBytes: process.memoryUsage().rss, peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } catch (e) {
    store?.discard();
    throw e;
  } finally {
    set.close();
  }
}
