// A quantized frozen base: the packed tensors by HF name, the scheme, and (for training with int8 compute only) the
// int8 packing of each Wᵀ that the backward pass multiplies by (see README "Model sizes and memory": faster than a
// blockwise dequantize-then-MatMul per layer, measured). Which tensors are quantized is decided here, once.
import { LorakitError } from '../../errors.js';
import type { ModelConfig } from '../config.js';
import { embeddingName, linearModules } from '../modules.js';
import { type QuantizedLayout, type QuantizedTensor, quantizeRows, transposeQuantized } from './quantize.js';
import { graphQuantizable, quantizeRowsInGraph } from './quantize-graph.js';
import type { QuantScheme } from './scheme.js';
import type { PackedStore } from './store.js';

export interface QuantizedBase {
  readonly scheme: QuantScheme;
  /** By HF tensor name; these tensors are not among the float weights. */
  readonly tensors: ReadonlyMap<string, QuantizedTensor>;
  /** int8 packing of Wᵀ (rows = input features), made on first use and kept: the backward pass of training. */
  transposed(name: string): QuantizedTensor;
}

/** The tensors a scheme quantizes: every linear weight, the input embedding and the (possibly tied) LM head. */
export function quantizedTensorNames(cfg: ModelConfig): Map<string, { transposedOnDisk: boolean }> {
  const out = new Map<string, { transposedOnDisk: boolean }>();
  for (const m of linearModules(cfg)) out.set(`${m.path}.weight`, { transposedOnDisk: m.conv1d });
  const embed = embeddingName(cfg);
  out.set(embed, { transposedOnDisk: false });
  if (!cfg.tieWordEmbeddings) out.set('lm_head.weight', { transposedOnDisk: false });
  return out;
}

/**
 * The (rows, cols) a float tensor is quantized as: (out, in), from (in, out) on disk for GPT-2's Conv1D. The input
 * dim must be a multiple of the block size.
 */
export function quantizedLayout(name: string, shape: readonly number[], s: QuantScheme, transposedOnDisk: boolean): QuantizedLayout {
  const [rows, cols] = transposedOnDisk ? [shape[1], shape[0]] : [shape[0], shape[1]];
  if (shape.length !== 2 || cols % s.blockSize !== 0) {
    throw new LorakitError('LK_QUANT',
      `cannot quantize '${name}' [${shape.join(', ')}] with block ${s.blockSize}: its input dim ${cols} is not a multiple of the block`, {
      hint: 'choose a --quant-block that divides the hidden and intermediate sizes', details: { tensor: name, shape, block: s.blockSize },
    });
  }
  return { n: rows, k: cols, bits: s.bits, blockSize: s.blockSize, symmetric: s.symmetric };
}

/**
 * Quantizes whole rows of a tensor as loaded: `data` holds data.length / k rows of layout `l` (all of them when
 * transposed on disk). In onnxruntime when the layout allows (the same bytes, much faster), else in JS.
 */
export async function quantizePart(data: Float32Array, l: QuantizedLayout, transposedOnDisk: boolean, threads?: number): Promise<QuantizedTensor> {
  const rows = transposedOnDisk ? l.n : data.length / l.k;
  if (!transposedOnDisk && graphQuantizable(l.k, l)) return quantizeRowsInGraph(data, rows, l.k, l, threads);
  return quantizeRows(data, rows, l.k, l, transposedOnDisk);
}

/** `store`: where the Wᵀ packings go when made (a loaded base spills everything; see store.ts). */
export function makeQuantizedBase(scheme: QuantScheme, tensors: ReadonlyMap<string, QuantizedTensor>, store?: PackedStore): QuantizedBase {
  const cache = new Map<string, QuantizedTensor>();
  return {
    scheme, tensors,
    transposed(name) {
      let t = cache.get(name);
      if (!t) {
        const q = tensors.get(name);
        if (!q) throw new LorakitError('LK_INTERNAL', `no quantized tensor '${name}'`);
        // Wᵀ (k, n) from the dequantized (n, k) values: int8 blocks along n keep the backward within ≈ 0.4% of the
        // forward's own weights (int8 step = absmax/127), at 1 byte per parameter.
        t = transposeQuantized(q, { bits: 8, blockSize: scheme.blockSize, symmetric: true });
        cache.set(name, (t = store ? store.spill(t) : t));
      }
      return t;
    },
  };
}
