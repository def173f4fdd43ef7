// Compiled graphs: a Graph emitted once to ONNX and turned into an ORT session, cached by the model bytes' hash
// (so building the same graph for the same shapes twice reuses the session), fed typed arrays zero-copy, with
// optional preallocated outputs that ORT writes into directly.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { LorakitError } from '../../errors.js';
import { type AnyTypedArray, type DType, dtypeOfArray } from '../graph/dtype.js';
import type { Dim, Shape } from '../graph/dim.js';
import type { Graph } from '../graph/graph.js';
import { emitModel } from '../onnx/emit.js';
import { createNativeSession, makeTensor, type NativeSession, type NativeTensor } from './ort-binding.js';

export interface TensorValue<T extends AnyTypedArray = AnyTypedArray> {
  readonly data: T;
  readonly dims: readonly number[];
}

export interface CompileOptions {
  /** Intra-op threads; defaults to LORAKIT_THREADS or the number of cores. */
  readonly threads?: number;
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * ORT's memory-pattern planning (default true). With it, the arena keeps the first run's chunks and later runs add
   * one planned block beside them (≈ +1 GB at 2 × 256 tokens of a Llama-3.2-1B shape; issue 12). Training sessions
   * turn it off and keep the arena: turning the arena off instead freed the memory too, but every step then faulted
   * its activations in afresh (29.5M model, q,v, 4 × 256: 504 tok/s and 1.25 GB peak, against 1,770 tok/s and 0.81 GB).
   */
  readonly memPattern?: boolean;
  /** Skip the session cache (a fresh session; the caller must dispose it). */
  readonly noCache?: boolean;
  /**
   * ORT graph optimizers to skip, by name. Training with gradient checkpointing skips CommonSubexpressionElimination:
   * a recomputed node whose inputs are all constants (a dequantized weight) equals its forward twin, and merging
   * the two would keep every such value alive from the forward to the backward pass, which checkpointing exists to avoid.
   */
  readonly disabledOptimizers?: readonly string[];
}

interface IOSpec { readonly name: string; readonly dtype: DType; readonly shape: Shape }

export function defaultThreads(): number {
  const env = Number(process.env.LORAKIT_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}

/**
 * Evaluates a dim under symbol bindings: a number, a symbol, a product ('4*B*T') or a sum of products ('(P+T)'),
 * the forms the op builders produce. Undefined if a symbol is unbound or the form is anything else.
 */
export function evalDim(d: Dim, env: ReadonlyMap<string, number>): number | undefined {
  if (typeof d === 'number') return d;
  let sum = 0;
  for (const term of d.replace(/[()\s]/g, '').split('+')) {
    let prod = 1;
    for (const f of term.split('*')) {
      const v = /^\d+$/.test(f) ? Number(f) : env.get(f);
      if (v === undefined) return undefined;
      prod *= v;
    }
    sum += prod;
  }
  return sum;
}

export class CompiledGraph {
  private disposed = false;
  /** Per input and dim: a static size to check, or the symbol name to bind (null for an expression like 'B*T'). */
  private readonly dimPlan: readonly (readonly (number | string | null)[])[];

  constructor(
    private readonly session: NativeSession,
    readonly inputs: readonly IOSpec[],
    readonly outputs: readonly IOSpec[],
    readonly key: string,
    readonly modelBytes: number,
  ) {
    this.dimPlan = inputs.map((spec) => spec.shape.map((d) => (typeof d === 'number' ? d : /^[A-Za-z_][A-Za-z0-9_]*$/.test(d) ? d : null)));
  }

  /** Binds symbolic dims from the feeds and checks dtypes and static dims; errors name the input. */
  private bind(feeds: Readonly<Record<string, TensorValue>>): Map<string, number> {
    const env = new Map<string, number>();
    for (let k = 0; k < this.inputs.length; k++) {
      const spec = this.inputs[k], plan = this.dimPlan[k];
      const f = feeds[spec.name];
      if (!f) throw new LorakitError('LK_GRAPH', `run: missing feed '${spec.name}' (${spec.dtype}[${spec.shape.join(',')}])`);
      const dt = dtypeOfArray(f.data);
      // A Uint8Array reads as bool; a uint8 input takes one too.
      if (dt !== spec.dtype && !(spec.dtype === 'uint8' && dt === 'bool'))
        throw new LorakitError('LK_DTYPE', `run: feed '${spec.name}' is ${dt}, expected ${spec.dtype}`);
      if (f.dims.length !== spec.shape.length) {
        throw new LorakitError(
          'LK_SHAPE',
          `run: feed '${spec.name}' has dims [${f.dims}], expected rank ${spec.shape.length} [${spec.shape.join(',')}]`,
        );
      }
      const size = f.dims.reduce((p, d) => p * d, 1);
      if (size !== f.data.length) {
        throw new LorakitError('LK_SHAPE', `run: feed '${spec.name}' dims [${f.dims}] need ${size} values, got ${f.data.length}`);
      }
      for (let i = 0; i < plan.length; i++) {
        const d = plan[i], actual = f.dims[i];
        if (typeof d === 'number') {
          if (d !== actual) throw new LorakitError('LK_SHAPE', `run: feed '${spec.name}' dim ${i} is ${actual}, expected ${d}`);
        } else if (d !== null) {
          const prev = env.get(d);
          if (prev !== undefined && prev !== actual) {
            throw new LorakitError('LK_SHAPE', `run: dim '${d}' is ${prev} in an earlier feed but ${actual} in '${spec.name}'`);
          }
          env.set(d, actual);
        }
      }
    }
    return env;
  }

  /**
   * Runs the graph. `into` maps output names to preallocated typed arrays that ORT writes in place (their size must
   * match the bound output shape); other outputs are returned freshly allocated.
   */
  async run(feeds: Readonly<Record<string, TensorValue>>, into: Readonly<Record<string, AnyTypedArray>> = {}): Promise<Record<string, TensorValue>> {
    if (this.disposed) throw new LorakitError('LK_GRAPH', `run: graph ${this.key.slice(0, 8)} was disposed`);
    const env = this.bind(feeds);
    const native: Record<string, NativeTensor> = {};
    for (const spec of this.inputs) native[spec.name] = makeTensor(spec.dtype, feeds[spec.name].data, feeds[spec.name].dims);
    const fetches: Record<string, NativeTensor | null> = {};
    for (const spec of this.outputs) {
      const buf = into[spec.name];
      if (!buf) { fetches[spec.name] = null; continue; }
      const dims = spec.shape.map((d) => evalDim(d, env));
      if (dims.some((d) => d === undefined)) {
        throw new LorakitError(
          'LK_SHAPE',
          `run: output '${spec.name}' has dims [${spec.shape}] not fixed by the feeds; it cannot be preallocated`,
        );
      }
      const size = (dims as number[]).reduce((p, d) => p * d, 1);
      if (buf.length !== size || dtypeOfArray(buf) !== spec.dtype) {
        throw new LorakitError(
          'LK_SHAPE',
          `run: preallocated '${spec.name}' must be ${spec.dtype}[${size}], got ${dtypeOfArray(buf)}[${buf.length}]`,
        );
      }
      fetches[spec.name] = makeTensor(spec.dtype, buf, dims as number[]);
    }
    const r = await this.session.run(native, fetches as Record<string, NativeTensor>);
    const out: Record<string, TensorValue> = {};
    for (const spec of this.outputs) out[spec.name] = { data: into[spec.name] ?? r[spec.name].data, dims: [...r[spec.name].dims] };
    return out;
  }

  /** True once dispose() ran (also through clearSessionCache): a caller that keeps the graph must compile it again. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    cache.delete(this.key);
    await this.session.release();
  }
}

const cache = new Map<string, Promise<CompiledGraph>>();

const bufferIds = new WeakMap<ArrayBufferLike, number>();
let nextBufferId = 0;
function bufferId(b: ArrayBufferLike): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}

/** Emits and compiles `g` (or returns the cached session for identical model bytes). */
export async function compile(g: Graph, opts: CompileOptions = {}): Promise<CompiledGraph> {
  const { bytes, externalData, externalFolder, externalFiles } = emitModel(g);
  const threads = opts.threads ?? defaultThreads();
  const settings = [threads, opts.optimization ?? 'all', opts.memPattern ?? true, (opts.disabledOptimizers ?? []).join(';')];
  const h = createHash('sha256').update(bytes).update(`|${settings.join('|')}`);
  // External initializers are not in `bytes`: the same graph over other packed weights is another session.
  for (const f of externalData) h.update(`|${f.path}:${bufferId(f.data.buffer)}+${f.data.byteOffset}`);
  if (externalFolder) h.update(`|${externalFolder}`);
  const key = h.digest('hex');
  if (!opts.noCache) {
    const hit = cache.get(key);
    if (hit) return hit;
  }
  const p = (async () => {
    // Constant folding would dequantize packed weights into float initializers at load (every dequantize chain
    // over them has only constant inputs): the memory quantization saves, spent again. Graphs with external
    // initializers keep those chains as runtime work.
    const disabledOptimizers = [...(externalData.length || externalFiles.length ? ['ConstantFolding'] : []), ...(opts.disabledOptimizers ?? [])];
    const nativeOpts = {
      intraOpThreads: threads, interOpThreads: 1, optimization: opts.optimization ?? 'all', disabledOptimizers,
      memPattern: opts.memPattern, externalFolder,
    };
    const session = await createNativeSession(bytes, nativeOpts, externalData);
    const inputs = g.inputs.filter((s) => session.inputNames.includes(s.name!)).map((s) => ({ name: s.name!, dtype: s.dtype, shape: s.shape }));
    const outputs = [...g.outputs].map(([name, s]) => ({ name, dtype: s.dtype, shape: s.shape }));
    return new CompiledGraph(session, inputs, outputs, key, bytes.byteLength);
  })();
  if (!opts.noCache) {
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Releases every cached session (tests, and the server on shutdown). */
export async function clearSessionCache(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const p of all) await (await p).dispose().catch(() => undefined);
}

export { dtypeOfArray };
