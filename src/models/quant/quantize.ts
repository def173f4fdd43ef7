// Blockwise weight quantization in MatMulNBits' layout (see engine/ops/quant.ts): rows are output features, blocks
// run along the input features. Symmetric: scale = absmax / (2^(bits−1) − 1), q = round(w/scale) + 2^(bits−1).
// With zero points: the block's range [min(0, lo), max(0, hi)] maps onto 0 … 2^bits − 1. Every step is a float32
// operation and rounding is half to even, so that quantize-graph.ts (the loader's fast path, in onnxruntime) gives
// the same bytes; this loop is the reference, and serves small or transposed tensors and the Wᵀ packing.
import { LorakitError } from '../../errors.js';
import { isSpilled } from './store.js';

export interface QuantizedTensor {
  /** Output features (rows). */
  readonly n: number;
  /** Input features. */
  readonly k: number;
  readonly bits: 4 | 8;
  readonly blockSize: number;
  /** (n, k/block, block·bits/8) */
  readonly packed: Uint8Array;
  /** (n, k/block) */
  readonly scales: Float32Array;
  /** (n, ceil(k/block · bits/8)), or null when symmetric. */
  readonly zeroPoints: Uint8Array | null;
}

export const zeroPointBytes = (blocks: number, bits: 4 | 8): number => (bits === 4 ? Math.ceil(blocks / 2) : blocks);

const f32 = Math.fround;
/** The smallest normal float32: the floor of a scale before it is inverted. */
export const MIN_NORMAL = 2 ** -126;
/** Round to nearest, halves to even (ONNX Round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // halves up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Quantizes w, given as (n, k) row-major, or as (k, n) with `transposed` (GPT-2 Conv1D), into n rows of
 * ceil(k/block) blocks; a last partial block is padded with zeros (MatMulNBits reads only K columns).
 */
export function quantizeRows(
  w: Float32Array, n: number, k: number, s: Pick<QuantizedLayout, 'bits' | 'blockSize' | 'symmetric'>, transposed = false,
): QuantizedTensor {
  const { bits, blockSize: bs, symmetric } = s;
  const nb = Math.ceil(k / bs), blob = (bs * bits) / 8, qmax = (1 << bits) - 1, mid = 1 << (bits - 1);
  const packed = new Uint8Array(n * nb * blob), scales = new Float32Array(n * nb);
  const zpb = zeroPointBytes(nb, bits);
  const zeroPoints = symmetric ? null : new Uint8Array(n * zpb);
  const block = new Float32Array(bs), q = new Uint8Array(bs);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < nb; j++) {
      let lo = 0, hi = 0, amax = 0;
      const len = Math.min(bs, k - j * bs);
      block.fill(0, len);
      for (let i = 0; i < len; i++) {
        const v = transposed ? w[(j * bs + i) * n + r] : w[r * k + j * bs + i];
        block[i] = v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      amax = Math.max(-lo, hi);
      let scale: number, zp: number;
      if (symmetric) { scale = f32(amax / (mid - 1)); zp = mid; } else {
        scale = f32(f32(hi - lo) / qmax);
        zp = scale > 0 ? Math.min(qmax, Math.max(0, roundHalfEven(f32(-lo / scale)))) : mid;
      }
      // A zero scale means an all-zero block; the floor keeps 1/scale finite (the graph multiplies 0 by it).
      const inv = f32(1 / Math.max(scale, MIN_NORMAL));
      for (let i = 0; i < bs; i++) {
        const x = roundHalfEven(f32(block[i] * inv)) + zp;
        q[i] = x < 0 ? 0 : x > qmax ? qmax : x;
      }
      scales[r * nb + j] = scale;
      const o = (r * nb + j) * blob;
      if (bits === 8) packed.set(q, o);
      else for (let i = 0; i < blob; i++) packed[o + i] = q[2 * i] | (q[2 * i + 1] << 4);
      if (zeroPoints) {
        const zo = r * zpb + (bits === 4 ? j >> 1 : j);
        zeroPoints[zo] = bits === 8 ? zp : j & 1 ? zeroPoints[zo] | (zp << 4) : zp;
      }
    }
  }
  return { n, k, bits, blockSize: bs, packed, scales, zeroPoints };
}

/** Receives a quantized tensor as parts of whole rows, in order (the loader quantizes row chunks as they stream in). */
export interface QuantizedSink {
  append(part: QuantizedTensor): void;
  /** The whole tensor; throws unless every row arrived. */
  finish(): QuantizedTensor;
}

export interface QuantizedLayout {
  readonly n: number;
  readonly k: number;
  readonly bits: 4 | 8;
  readonly blockSize: number;
  readonly symmetric: boolean;
}

/** Checks that `part` continues a tensor of layout `l` at row `row`; returns the row after it. */
export function checkPart(l: QuantizedLayout, part: QuantizedTensor, row: number, name: string): number {
  const sameScheme = part.k === l.k && part.bits === l.bits && part.blockSize === l.blockSize && (part.zeroPoints === null) === l.symmetric;
  if (!sameScheme || row + part.n > l.n) {
    const want = `(${l.n}, ${l.k}) int${l.bits} b${l.blockSize}`;
    throw new LorakitError('LK_INTERNAL', `${name}: a part of ${part.n} rows at row ${row} does not fit ${want}`);
  }
  return row + part.n;
}

/** A sink that assembles the tensor in memory. */
export function memorySink(l: QuantizedLayout): QuantizedSink {
  const nb = Math.ceil(l.k / l.blockSize), blob = (l.blockSize * l.bits) / 8, zpb = zeroPointBytes(nb, l.bits);
  const t = {
    n: l.n, k: l.k, bits: l.bits, blockSize: l.blockSize, packed: new Uint8Array(l.n * nb * blob), scales: new Float32Array(l.n * nb),
    zeroPoints: l.symmetric ? null : new Uint8Array(l.n * zpb),
  };
  let row = 0;
  return {
    append(p) {
      const at = row;
      row = checkPart(l, p, row, 'memorySink');
      t.packed.set(p.packed, at * nb * blob);
      t.scales.set(p.scales, at * nb);
      if (t.zeroPoints && p.zeroPoints) t.zeroPoints.set(p.zeroPoints, at * zpb);
    },
    finish() {
      if (row !== l.n) throw new LorakitError('LK_INTERNAL', `memorySink: ${row} of ${l.n} rows arrived`);
      return t;
    },
  };
}

/** The values the kernels multiply by, (n, k) row-major in float64: (q − zp) · scale. Tests and drift reports. */
export function dequantizeRows(t: QuantizedTensor): Float64Array {
  // Read the arrays once: a spilled tensor (store.ts) loads them from files on every access.
  const { n, k, bits, blockSize: bs, packed, scales, zeroPoints } = t;
  const nb = Math.ceil(k / bs), blob = (bs * bits) / 8, zpb = zeroPointBytes(nb, bits), mid = 1 << (bits - 1);
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < nb; j++) {
      const scale = scales[r * nb + j];
      let zp = mid;
      if (zeroPoints) {
        const z = zeroPoints[r * zpb + (bits === 4 ? j >> 1 : j)];
        zp = bits === 8 ? z : j & 1 ? z >> 4 : z & 15;
      }
      for (let i = 0, len = Math.min(bs, k - j * bs); i < len; i++) {
        const byte = packed[(r * nb + j) * blob + (bits === 8 ? i : i >> 1)];
        const qv = bits === 8 ? byte : i & 1 ? byte >> 4 : byte & 15;
        out[r * k + j * bs + i] = (qv - zp) * scale;
      }
    }
  }
  return out;
}

/** Bytes held by a quantized tensor (packed weights + scales + zero points). */
export function quantizedBytes(t: QuantizedTensor): number {
  // A spilled tensor (store.ts) is measured by its files, not by reading them back.
  if (isSpilled(t)) return Object.values(t.files).reduce((a, x) => a + (x?.byteLength ?? 0), 0);
  return t.packed.byteLength + t.scales.byteLength + (t.zeroPoints?.byteLength ?? 0);
}

/**
 * Wᵀ of a quantized (n, k) tensor, re-quantized as (k, n) rows (blocks along n), straight from the packed values:
 * one column of dequantized values at a time, never the whole float matrix (the embedding of a 128K vocabulary
 * would be 1 GB as float32).
 */
export function transposeQuantized(t: QuantizedTensor, s: Pick<QuantizedLayout, 'bits' | 'blockSize' | 'symmetric'>): QuantizedTensor {
  // Read the arrays once: a spilled tensor (store.ts) loads them from files on every access.
  const { n, k, bits, blockSize: bs, packed: src, scales: srcScales, zeroPoints: srcZp } = t;
  const nb = Math.ceil(k / bs), blob = (bs * bits) / 8, zpb = zeroPointBytes(nb, bits), mid = 1 << (bits - 1);
  const outNb = Math.ceil(n / s.blockSize), outBlob = (s.blockSize * s.bits) / 8, outZpb = zeroPointBytes(outNb, s.bits);
  const packed = new Uint8Array(k * outNb * outBlob), scales = new Float32Array(k * outNb);
  const zeroPoints = s.symmetric ? null : new Uint8Array(k * outZpb);
  const col = new Float32Array(n);
  for (let c = 0; c < k; c++) {
    const j = Math.floor(c / bs), i = c % bs;
    for (let r = 0; r < n; r++) {
      let zp = mid;
      if (srcZp) {
        const z = srcZp[r * zpb + (bits === 4 ? j >> 1 : j)];
        zp = bits === 8 ? z : j & 1 ? z >> 4 : z & 15;
      }
      const byte = src[(r * nb + j) * blob + (bits === 8 ? i : i >> 1)];
      col[r] = ((bits === 8 ? byte : i & 1 ? byte >> 4 : byte & 15) - zp) * srcScales[r * nb + j];
    }
    const row = quantizeRows(col, 1, n, s);
    packed.set(row.packed, c * outNb * outBlob);
    scales.set(row.scales, c * outNb);
    if (zeroPoints && row.zeroPoints) zeroPoints.set(row.zeroPoints, c * outZpb);
  }
  return { n: k, k: n, bits: s.bits, blockSize: s.blockSize, packed, scales, zeroPoints };
}
