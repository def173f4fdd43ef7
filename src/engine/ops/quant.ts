// Blockwise-quantized weights: onnxruntime's com.microsoft MatMulNBits (int4/int8 weights packed along K in blocks,
// one float scale per block, optional zero points), and the same dequantization written with standard ops, for
// embedding rows and for the backward pass (dX = dY · W needs W itself, not x·Wᵀ).
// Layout (MatMulNBits): B uint8 (N, K/block, block·bits/8), int4 low nibble first; scales float (N, K/block);
// zero points uint8 (N, ceil(K/block·bits/8)), int4 packed the same way; absent = 2^(bits-1) (symmetric).
import { LorakitError } from '../../errors.js';
import { dimEq, shapeStr } from '../graph/dim.js';
import { MS_DOMAIN, type Sym } from '../graph/graph.js';
import { requireDtype } from './check.js';
import { add, bitwiseAnd, cast, mul, sub } from './elementwise.js';
import { matmul } from './matmul.js';
import { after, concat, reshape, slice, unsqueeze } from './shape.js';

export interface NBitsLayout {
  readonly bits: 4 | 8;
  readonly blockSize: number;
  /** Input features (the reduced dim). */
  readonly k: number;
  /** Output features (rows of the packed weight). */
  readonly n: number;
}

export const blocksPerRow = (l: NBitsLayout): number => Math.ceil(l.k / l.blockSize);

/** Logical right shift of uint8 values. */
export function bitShiftRight(x: Sym, by: number): Sym {
  requireDtype('BitShift', x, 'uint8');
  return x.graph.node('BitShift', [x, x.graph.scalar(by, 'uint8')], { direction: 'RIGHT' }, [{ dtype: 'uint8', shape: x.shape }])[0];
}

/** Packed constants of a weight: the operands of one MatMulNBits. */
export interface NBitsOperands { readonly b: Sym; readonly scales: Sym; readonly zeroPoints: Sym | null; readonly layout: NBitsLayout }

/**
 * How the backward pass gets dX = dY·W for a MatMulNBits node: the operands of a second packing of Wᵀ, made on
 * demand (only training graphs ask). Without one, the rule dequantizes W in the graph (exact but slow).
 */
export const nbitsBackward = new WeakMap<Sym, () => NBitsOperands>();

/**
 * x (…, K) · Wᵀ with W packed as above → (…, N). `accuracyLevel` 0 computes in float (exact w.r.t. the dequantized
 * W), 4 quantizes x blockwise to int8 and uses integer dot products (faster; error ≈ 1e-2 relative).
 */
export function matMulNBits(x: Sym, b: Sym, scales: Sym, zeroPoints: Sym | null, l: NBitsLayout & { readonly accuracyLevel: 0 | 4 },
  backward?: () => NBitsOperands): Sym {
  requireDtype('MatMulNBits', b, 'uint8');
  const kx = x.shape[x.rank - 1];
  if (!dimEq(kx, l.k)) {
    throw new LorakitError('LK_SHAPE', `MatMulNBits: input ${shapeStr(x.shape)} has ${kx} features, the packed weight expects K = ${l.k}`);
  }
  const nb = blocksPerRow(l), blob = (l.blockSize * l.bits) / 8;
  if (b.shape.join() !== [l.n, nb, blob].join()) {
    throw new LorakitError(
      'LK_SHAPE',
      `MatMulNBits: packed weight ${shapeStr(b.shape)} does not match N=${l.n}, K=${l.k}, block ${l.blockSize}, ${l.bits} bits ` +
        `(expected [${l.n}, ${nb}, ${blob}])`,
    );
  }
  const attrs = { K: l.k, N: l.n, bits: l.bits, block_size: l.blockSize, accuracy_level: l.accuracyLevel };
  const inputs = zeroPoints ? [x, b, scales, zeroPoints] : [x, b, scales];
  const y = x.graph.node('MatMulNBits', inputs, attrs, [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), l.n] }], MS_DOMAIN)[0];
  if (backward) nbitsBackward.set(y, backward);
  return y;
}

/** (…, m) uint8 holding two 4-bit values each, low nibble first → (…, 2m) uint8. */
function unpackNibbles(p: Sym): Sym {
  const lo = unsqueeze(bitwiseAnd(p, p.graph.scalar(15, 'uint8')), [-1]);
  const hi = unsqueeze(bitShiftRight(p, 4), [-1]);
  const m = p.shape[p.rank - 1];
  return reshape(concat([lo, hi], -1), [...p.shape.slice(0, -1), typeof m === 'number' ? 2 * m : -1]);
}

/**
 * Packed rows (…, K/block, blob) with scales (…, K/block) and zero points (…, zpBytes) or null → float32 (…, K).
 * Exactly the values MatMulNBits multiplies by at accuracy level 0: (q − zp) · scale.
 */
export function dequantizeNBits(b: Sym, scales: Sym, zeroPoints: Sym | null, l: Pick<NBitsLayout, 'bits' | 'blockSize' | 'k'>): Sym {
  requireDtype('dequantizeNBits', b, 'uint8');
  const lead = b.shape.slice(0, -2), nb = Math.ceil(l.k / l.blockSize);
  const q = l.bits === 4 ? unpackNibbles(b) : b; // (…, nb, block)
  let zp: Sym | number = 2 ** (l.bits - 1);
  if (zeroPoints) {
    const z = l.bits === 4 ? slice(unpackNibbles(zeroPoints), zeroPoints.rank - 1, 0, nb) : zeroPoints; // (…, nb)
    zp = unsqueeze(cast(z, 'float32'), [-1]);
  }
  const w = mul(sub(cast(q, 'float32'), zp), unsqueeze(scales, [-1])); // (…, nb, block)
  const full = reshape(w, [...lead, nb * l.blockSize]);
  return nb * l.blockSize === l.k ? full : slice(full, full.rank - 1, 0, l.k);
}

/**
 * dY (…, N) · W (N, K) for a packed W (the backward pass of MatMulNBits without a Wᵀ packing), exact: W is
 * dequantized in chunks of rows, each chunk waiting for the previous partial sum (after()), so at most about one
 * chunk of `chunkElements` floats exists at a time: an LM head over a 128K vocabulary is 1–2 GB as float.
 */
export function matmulDequantized(dy: Sym, b: Sym, scales: Sym, zeroPoints: Sym | null, l: NBitsLayout, chunkElements = 1 << 24): Sym {
  const rows = Math.max(1, Math.floor(chunkElements / l.k));
  let acc: Sym | null = null;
  for (let r0 = 0; r0 < l.n; r0 += rows) {
    const r1 = Math.min(l.n, r0 + rows), anchor = acc ?? dy;
    const part = (x: Sym): Sym => slice(after(x, anchor), 0, r0, r1);
    const w = dequantizeNBits(part(b), part(scales), zeroPoints && part(zeroPoints), l); // (r1 − r0, K)
    const y = matmul(r0 === 0 && r1 === l.n ? dy : slice(dy, dy.rank - 1, r0, r1), w);
    acc = acc ? add(acc, y) : y;
  }
  return acc!;
}
