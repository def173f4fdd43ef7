// Blockwise quantization as an onnxruntime graph: the loader quantizes every base weight once, and this runs that
// O(parameters) work vectorized on ORT's threads instead of in a JS loop (README "Model sizes and memory" has the
// load times). The arithmetic is quantizeRows' step for step (float32 operations, halves rounded to even), so both
// give the same bytes; a test checks it. Rows are a symbolic dim: one session per (scheme, K) serves every part.
import {
  type CompiledGraph, Graph, abs, add, cast, clip, compile, div, greater, maximum, minimum, mul, neg, reduceMax, reduceMin, reshape,
  round, slice, sub, where, type Sym,
} from '../../engine/index.js';
import { MIN_NORMAL, type QuantizedLayout, type QuantizedTensor, zeroPointBytes } from './quantize.js';

type RowScheme = Pick<QuantizedLayout, 'bits' | 'blockSize' | 'symmetric'>;

/** Whether the graph can quantize rows of k features (whole blocks; int4 zero points in whole bytes). */
export const graphQuantizable = (k: number, s: RowScheme): boolean =>
  k % s.blockSize === 0 && (s.symmetric || s.bits === 8 || (k / s.blockSize) % 2 === 0);

/** (…, 2m) levels below 16, as floats → (…, m) bytes, low nibble first (MatMulNBits' order): lo + 16·hi. */
function packNibbles(q: Sym, lead: readonly (string | number)[], m: number): Sym {
  const pairs = reshape(q, [...lead, m, 2]);
  // Without the trailing 1, ORT's Mul takes its fast path (the whole graph: 24 → 17 ms on 4M floats, measured).
  const [lo, hi] = [0, 1].map((i) => reshape(slice(pairs, pairs.rank - 1, i, i + 1), [...lead, m]));
  return cast(add(lo, mul(hi, 16)), 'uint8');
}

function buildQuantizer(k: number, s: RowScheme): Graph {
  const { bits, blockSize: bs, symmetric } = s;
  const nb = k / bs, qmax = (1 << bits) - 1, mid = 1 << (bits - 1);
  const g = new Graph(`quantize_int${bits}_b${bs}_${symmetric ? 'sym' : 'zp'}_k${k}`);
  const w = reshape(g.input('w', 'float32', ['R', k]), ['R', nb, bs]);
  let scale: Sym, zp: Sym | number;
  if (symmetric) {
    scale = div(reduceMax(abs(w), [-1], true), mid - 1);
    zp = mid;
  } else {
    const lo = minimum(reduceMin(w, [-1], true), 0), hi = maximum(reduceMax(w, [-1], true), 0);
    scale = div(sub(hi, lo), qmax);
    zp = where(greater(scale, 0), clip(round(div(neg(lo), scale)), 0, qmax), mid); // (R, nb, 1)
  }
  const inv = div(1, maximum(scale, MIN_NORMAL));
  const q = clip(add(round(mul(w, inv)), zp), 0, qmax); // (R, nb, bs) levels, exact in float
  g.output('packed', bits === 8 ? cast(q, 'uint8') : packNibbles(q, ['R', nb], bs / 2));
  g.output('scales', reshape(scale, ['R', nb]));
  if (typeof zp !== 'number') {
    g.output('zero_points', bits === 8 ? cast(reshape(zp, ['R', nb]), 'uint8') : packNibbles(zp, ['R'], zeroPointBytes(nb, 4)));
  }
  return g;
}

// One session per (scheme, k, threads), kept here: a load runs the graph once per part (about 1,200 parts for a 1B
// model), and building, emitting and hashing it each time cost 0.8 ms per call (measured), on the loader's thread.
const sessions = new Map<string, Promise<CompiledGraph>>();

async function quantizer(k: number, s: RowScheme, threads: number | undefined): Promise<CompiledGraph> {
  const key = `${s.bits}/${s.blockSize}/${s.symmetric}/${k}/${threads ?? ''}`;
  const held = sessions.get(key);
  if (held && !(await held).isDisposed) return held;
  const made = compile(buildQuantizer(k, s), { threads });
  sessions.set(key, made);
  made.catch(() => sessions.delete(key));
  return made;
}

/**
 * Quantizes n rows of k features (w row-major (n, k)) in onnxruntime; the same bytes as quantizeRows(w, n, k, s).
 * Requires graphQuantizable(k, s).
 */
export async function quantizeRowsInGraph(w: Float32Array, n: number, k: number, s: RowScheme, threads?: number): Promise<QuantizedTensor> {
  const session = await quantizer(k, s, threads);
  const r = await session.run({ w: { data: w.length === n * k ? w : w.subarray(0, n * k), dims: [n, k] } });
  return {
    n, k, bits: s.bits, blockSize: s.blockSize,
    packed: r.packed.data as Uint8Array, scales: r.scales.data as Float32Array,
    zeroPoints: s.symmetric ? null : (r.zero_points.data as Uint8Array),
  };
}
