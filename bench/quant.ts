// `npm run bench -- quant`: the quantized-matmul decisions, on one Llama-3.2-1B-sized layer (K 2048 → N 8192,
// the gate/up projection): MatMulNBits against float32 MatMul at decode (M 1, 8) and training (M 512) sizes, with
// packed weights as initializers (prepacked by ORT) and, once, fed as graph inputs; and the backward dX = dY·W of
// a frozen quantized weight: a second packing of Wᵀ (int8) against dequantize-then-MatMul in the graph.
// Every figure is the median of interleaved rounds (all variants take turns within a round).
import { Graph, type CompiledGraph, compile, defaultThreads, dequantizeNBits, matMulNBits, matmul, transposeLast2 } from '../src/engine/index.js';
import { quantizeRows, type QuantizedTensor, transposeQuantized } from '../src/models/quant/quantize.js';
import { Rng } from '../src/util/rng.js';
import { interleave, median, rounds } from './stats.js';
import type { BenchArea, BenchCell } from './types.js';

const K = 2048, N = 8192, BLOCK = 32, ROUNDS = rounds(7);

interface Variant {
  readonly name: string;
  readonly session: CompiledGraph;
  readonly feeds: (m: number) => Record<string, { data: Float32Array | Uint8Array; dims: number[] }>;
}

function packed(g: Graph, t: QuantizedTensor, key: string, asInput: boolean) {
  const nb = Math.ceil(t.k / t.blockSize), dims = [t.n, nb, (t.blockSize * t.bits) / 8];
  if (asInput) return { b: g.input(`${key}.q`, 'uint8', dims), s: g.input(`${key}.s`, 'float32', [t.n, nb]) };
  return {
    b: g.constant(t.packed, dims, `${key}.q`, { dtype: 'uint8', external: true }),
    s: g.constant(t.scales, [t.n, nb], `${key}.s`, { external: true }),
  };
}

async function nbits(t: QuantizedTensor, level: 0 | 4, asInput = false): Promise<CompiledGraph> {
  const g = new Graph('nbits');
  const x = g.input('x', 'float32', ['M', t.k]);
  const { b, s } = packed(g, t, 'w', asInput);
  g.output('y', matMulNBits(x, b, s, null, { bits: t.bits, blockSize: t.blockSize, k: t.k, n: t.n, accuracyLevel: level }));
  return compile(g);
}

/** Each variant's median run time (ms) at M rows, over interleaved rounds after one warm-up run each. */
async function timeAll(variants: readonly Variant[], m: number): Promise<number[]> {
  const run = (v: Variant) => async (): Promise<number> => {
    const t0 = performance.now();
    await v.session.run(v.feeds(m) as never);
    return performance.now() - t0;
  };
  for (const v of variants) await run(v)(); // warm-up
  return (await interleave(ROUNDS, variants.map(run))).map(median);
}

export const bench: BenchArea = async () => {
  const rng = new Rng(1);
  const w = Float32Array.from({ length: N * K }, () => rng.normal() * 0.02);
  const int4 = quantizeRows(w, N, K, { bits: 4, blockSize: BLOCK, symmetric: true });
  const int8 = quantizeRows(w, N, K, { bits: 8, blockSize: BLOCK, symmetric: true });
  const xs = new Map<number, Float32Array>();
  const x = (m: number, k = K): Float32Array => {
    const key = m * 1e6 + k;
    let v = xs.get(key);
    if (!v) xs.set(key, (v = Float32Array.from({ length: m * k }, () => rng.normal())));
    return v;
  };
  const feedX = (k: number) => (m: number) => ({ x: { data: x(m, k), dims: [m, k] } });

  const gf = new Graph('f32');
  const xf = gf.input('x', 'float32', ['M', K]), wf = gf.input('w', 'float32', [N, K]);
  gf.output('y', matmul(xf, transposeLast2(wf)));
  const forward: Variant[] = [
    { name: 'float32 MatMul (weights as input)', session: await compile(gf), feeds: (m) => ({ ...feedX(K)(m), w: { data: w, dims: [N, K] } }) },
    { name: 'int4, accuracy float', session: await nbits(int4, 0), feeds: feedX(K) },
    { name: 'int4, accuracy int8', session: await nbits(int4, 4), feeds: feedX(K) },
    { name: 'int8, accuracy float', session: await nbits(int8, 0), feeds: feedX(K) },
    { name: 'int8, accuracy int8', session: await nbits(int8, 4), feeds: feedX(K) },
  ];
  const asInput: Variant = {
    name: 'int4, accuracy int8, packed weights fed as inputs', session: await nbits(int4, 4, true),
    feeds: (m) => ({
      ...feedX(K)(m),
      'w.q': { data: int4.packed, dims: [N, K / BLOCK, BLOCK / 2] },
      'w.s': { data: int4.scales, dims: [N, K / BLOCK] },
    }),
  };
  const ms = [1, 8, 512];
  const fwd: number[][] = [];
  for (const m of ms) fwd.push(await timeAll(forward, m));
  const inputTimes = [await timeAll([asInput], 1), await timeAll([asInput], 512)];

  // Backward: dX (M, K) = dY (M, N) · W (N, K) through the int4 weights' dequantized values.
  const wt = transposeQuantized(int4, { bits: 8, blockSize: BLOCK, symmetric: true }); // what training uses
  const gT = new Graph('bwd_packT');
  const dy = gT.input('x', 'float32', ['M', N]);
  const pT = packed(gT, wt, 'wt', false);
  gT.output('dx', matMulNBits(dy, pT.b, pT.s, null, { bits: 8, blockSize: BLOCK, k: N, n: K, accuracyLevel: 4 }));
  const gD = new Graph('bwd_dequant');
  const dy2 = gD.input('x', 'float32', ['M', N]);
  const pD = packed(gD, int4, 'w', false);
  gD.output('dx', matmul(dy2, dequantizeNBits(pD.b, pD.s, null, { bits: 4, blockSize: BLOCK, k: K })));
  const gF = new Graph('bwd_f32');
  const dy3 = gF.input('x', 'float32', ['M', N]), w3 = gF.input('w', 'float32', [N, K]);
  gF.output('dx', matmul(dy3, w3));
  const backward: Variant[] = [
    { name: 'float32 MatMul dY·W (float base)', session: await compile(gF), feeds: (m) => ({ ...feedX(N)(m), w: { data: w, dims: [N, K] } }) },
    { name: 'MatMulNBits over an int8 packing of Wᵀ (chosen)', session: await compile(gT), feeds: feedX(N) },
    { name: 'dequantize W in the graph, then MatMul', session: await compile(gD), feeds: feedX(N) },
  ];
  const bwd = await timeAll(backward, 512);
  const extraMb = (wt.packed.byteLength + wt.scales.byteLength) / 2 ** 20, baseMb = (int4.packed.byteLength + int4.scales.byteLength) / 2 ** 20;
  return [
    {
      title: `Quantized matmul, one ${K}→${N} layer (Llama-3.2-1B MLP shape), ms, ` +
        `median of ${ROUNDS} interleaved rounds, ${defaultThreads()} threads`,
      rows: [
        ...forward.map((v, i): Record<string, BenchCell> => ({ weights: v.name, 'M=1': fwd[0][i], 'M=8': fwd[1][i], 'M=512': fwd[2][i] })),
        { weights: asInput.name, 'M=1': inputTimes[0][0], 'M=8': null, 'M=512': inputTimes[1][0] },
      ],
      notes: ['Packed weights must be initializers (ORT prepacks them); fed as inputs MatMulNBits takes its fallback path.'],
    },
    {
      title: `Backward through a frozen int4 weight: dX = dY·W at M=512 (batch 2 × 256), ms, median of ${ROUNDS} interleaved rounds`,
      rows: backward.map((v, i) => ({ method: v.name, ms: bwd[i] })),
      notes: [
        `The Wᵀ packing costs ${extraMb.toFixed(1)} MiB per such layer in training processes only ` +
          `(the int4 forward weight is ${baseMb.toFixed(1)} MiB).`,
      ],
    },
  ];
};
