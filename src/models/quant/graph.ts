// Quantized weights in a model graph: packed tensors become external initializers (ORT prepacks them; fed as
// inputs MatMulNBits falls back to a path ~270× slower). A loaded base keeps them in files (store.ts) that ORT maps;
// tensors built in memory (tests) go as in-memory external data. Each session holds its own prepacked copy (≈ 1.2×
// the packed bytes for int4, measured), so keep one session per graph kind. Linear layers and the LM head run
// MatMulNBits; embedding rows come from GatherBlockQuantized over the same bytes.
import { type Graph, MS_DOMAIN, type NBitsOperands, type Sym, after, dequantizeNBits, matMulNBits, matmulT } from '../../engine/index.js';
import type { QuantizedBase } from './base.js';
import { type QuantizedTensor, zeroPointBytes } from './quantize.js';
import { isSpilled } from './store.js';

export interface QuantGraph {
  /** x · Wᵀ for a quantized weight, or null when `name` is not quantized. */
  linear(name: string, x: Sym): Sym | null;
  /** Embedding rows of a quantized table, or null. */
  embed(name: string, ids: Sym): Sym | null;
}

export interface QuantGraphOptions {
  /**
   * Weights to run as dequantize-then-MatMul instead of MatMulNBits: nothing is prepacked, so a session holds only
   * the packed bytes; each use dequantizes its weight blockwise into a transient float tensor. Training's low-memory
   * mode asks this for the decoder layers, whose segments the backward pass recomputes (so no dequantized weight
   * outlives its layer).
   */
  readonly dequantize?: (name: string) => boolean;
  /**
   * false: no int8 packing of Wᵀ for the backward pass of packed weights (the LM head in low-memory mode): the
   * backward dequantizes W in chunks of rows instead (exact, transient), and no second prepacked copy exists.
   */
  readonly packedBackward?: boolean;
}

export function quantGraph(g: Graph, qb: QuantizedBase | undefined, opts: QuantGraphOptions = {}): QuantGraph {
  const operands = new Map<string, NBitsOperands>();
  const constantsOf = (key: string, t: QuantizedTensor): NBitsOperands => {
    let o = operands.get(key);
    if (!o) {
      const nb = Math.ceil(t.k / t.blockSize), blob = (t.blockSize * t.bits) / 8;
      const shapes = { b: [t.n, nb, blob], scales: [t.n, nb], zp: [t.n, zeroPointBytes(nb, t.bits)] };
      let b: Sym, scales: Sym, zeroPoints: Sym | null;
      if (isSpilled(t)) {
        const f = t.files;
        b = g.fileConstant(f.packed, shapes.b, 'uint8', `${key}.qweight`);
        scales = g.fileConstant(f.scales, shapes.scales, 'float32', `${key}.scales`);
        zeroPoints = f.zeroPoints ? g.fileConstant(f.zeroPoints, shapes.zp, 'uint8', `${key}.qzeros`) : null;
      } else {
        b = g.constant(t.packed, shapes.b, `${key}.qweight`, { dtype: 'uint8', external: true });
        scales = g.constant(t.scales, shapes.scales, `${key}.scales`, { external: true });
        zeroPoints = t.zeroPoints ? g.constant(t.zeroPoints, shapes.zp, `${key}.qzeros`, { dtype: 'uint8', external: true }) : null;
      }
      operands.set(key, (o = { b, scales, zeroPoints, layout: { bits: t.bits, blockSize: t.blockSize, k: t.k, n: t.n } }));
    }
    return o;
  };
  const accuracyLevel = qb?.scheme.accuracy === 'int8' ? 4 : 0;
  return {
    linear(name, x) {
      const t = qb?.tensors.get(name);
      if (!t) return null;
      const o = constantsOf(name, t);
      if (opts.dequantize?.(name)) {
        // Dequantized from x's arrival (and, recomputed, from its backward copy's), not at the start of the run.
        const w = dequantizeNBits(after(o.b, x), after(o.scales, x), o.zeroPoints && after(o.zeroPoints, x), o.layout);
        return matmulT(x, w, false, true);
      }
      // dX in the backward pass: with int8 compute, MatMulNBits over an int8 packing of Wᵀ (fast, ≈ 0.4% off);
      // with float compute, W dequantized in the graph (exact, like the forward). See bench/quant.ts.
      const backward = accuracyLevel === 4 && opts.packedBackward !== false ? () => constantsOf(`${name}.T`, qb!.transposed(name)) : undefined;
      return matMulNBits(x, o.b, o.scales, o.zeroPoints, { ...o.layout, accuracyLevel }, backward);
    },
    embed(name, ids) {
      const t = qb?.tensors.get(name);
      if (!t) return null;
      const o = constantsOf(name, t);
      // The same bytes seen as (V, H·bits/8); zero points are required here (MatMulNBits defaults them).
      const rows = [t.n, (t.k * t.bits) / 8];
      const data = isSpilled(t) ? g.fileConstant(t.files.packed, rows, 'uint8', `${name}.qrows`)
        : g.constant(t.packed, rows, `${name}.qrows`, { dtype: 'uint8', external: true });
      const zp = o.zeroPoints ?? symmetricZeroPoints(g, name, t);
      const attrs = { gather_axis: 0, quantize_axis: 1, block_size: t.blockSize, bits: t.bits };
      return g.node('GatherBlockQuantized', [data, ids, o.scales, zp], attrs, [{ dtype: 'float32', shape: [...ids.shape, t.k] }], MS_DOMAIN)[0];
    },
  };
}

function symmetricZeroPoints(g: Graph, name: string, t: QuantizedTensor): Sym {
  const nb = t.k / t.blockSize, per = zeroPointBytes(nb, t.bits);
  const data = new Uint8Array(t.n * per).fill(t.bits === 4 ? 0x88 : 0x80);
  // Small (n × blocks/2 bytes): inline, so that a model never mixes in-memory and file-backed external data.
  return g.constant(data, [t.n, per], `${name}.qzeros_sym`, { dtype: 'uint8' });
}
