// Quantized frozen bases: the blockwise quantizer's error bound per block size, one MatMulNBits layer and a whole
// quantized tiny model against references that use the same dequantized weights, finite-difference gradients of
// LoRA through a quantized base, loading that never keeps a float copy of a quantized tensor, and the packed files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { Graph, compile, matMulNBits, matmulDequantized } from '../../src/engine/index.js';
import { quantizeRows, dequantizeRows, transposeQuantized } from '../../src/models/quant/quantize.js';
import { quantizeRowsInGraph } from '../../src/models/quant/quantize-graph.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { isSpilled } from '../../src/models/quant/store.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { buildCausalLMGraph } from '../../src/models/graphs.js';
import { linearModules } from '../../src/models/modules.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { bindAdapter } from '../../src/lora/adapter.js';
import { TrainStep } from '../../src/train/step.js';
import { makeTrainBatch } from '../../src/train/batches.js';
import { isLorakitError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-quant-'));
const model = writeTinyModel(join(tmp, 'model'), { hidden: 64, layers: 2, seed: 11 });
const rng = new Rng(7);
const randn = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * s);

test('the loader\'s graph quantizer writes the same bytes as quantizeRows, ties (x.5 steps) included', async () => {
  const n = 12, k = 256;
  const w = randn(n * k, 0.05);
  w.fill(0, 0, 64); // an all-zero block: scale 0
  // Row 1: blocks whose values sit exactly half a step between two levels (amax 7 → step 1 for int4 symmetric).
  for (let i = 0; i < k; i++) w[k + i] = i % 32 === 0 ? 7 : [2.5, -3.5, 0.5, -0.5, 1.5][i % 5];
  for (const bits of [4, 8] as const) {
    for (const symmetric of [true, false]) {
      for (const blockSize of [16, 32, 128] as const) {
        const s = { bits, blockSize, symmetric };
        const want = quantizeRows(w, n, k, s), got = await quantizeRowsInGraph(w, n, k, s, 1);
        const label = `int${bits} block ${blockSize} ${symmetric ? 'sym' : 'zp'}`;
        assert.deepEqual(got.scales, want.scales, `${label}: scales`);
        assert.deepEqual(got.packed, want.packed, `${label}: packed`);
        assert.deepEqual(got.zeroPoints, want.zeroPoints, `${label}: zero points`);
      }
    }
  }
  // Halves go to the even level: 2.5 → 2, −3.5 → −4, ±0.5 → 0, 1.5 → 2 (plus the offset 8).
  const sym4 = quantizeRows(w, n, k, { bits: 4, blockSize: 32, symmetric: true });
  const levels = Array.from({ length: 6 }, (_, i) => { const b = sym4.packed[k / 2 + (i >> 1)]; return (i & 1 ? b >> 4 : b & 15) - 8; });
  assert.deepEqual(levels, [7, -4, 0, 0, 2, 2]);
});

test('quantize → dequantize: every weight within half a step (symmetric) or one step (zero point) of its block scale', () => {
  const n = 24, k = 256, w = randn(n * k, 0.05);
  for (const bits of [4, 8] as const) {
    for (const symmetric of [true, false]) {
      const rms: number[] = [];
      for (const blockSize of [16, 32, 64, 128] as const) {
        const q = quantizeRows(w, n, k, { bits, blockSize, symmetric });
        const d = dequantizeRows(q);
        let worst = 0, sq = 0;
        for (let r = 0; r < n; r++) {
          for (let c = 0; c < k; c++) {
            const err = Math.abs(w[r * k + c] - d[r * k + c]), step = q.scales[r * (k / blockSize) + Math.floor(c / blockSize)];
            worst = Math.max(worst, err / step);
            sq += err * err;
          }
        }
        assert.ok(
          worst <= (symmetric ? 0.5 : 1) + 1e-4,
          `int${bits} block ${blockSize} ${symmetric ? 'sym' : 'zp'}: error ${worst.toFixed(3)} steps`,
        );
        rms.push(Math.sqrt(sq / w.length));
      }
      // Smaller blocks track the local range more closely: the error grows with the block size.
      assert.ok(rms[0] < rms[3], `int${bits}: rms error ${rms.map((e) => e.toExponential(2)).join(' ')} should grow with the block`);
    }
  }
});

test('a partial last block is zero-padded and read back exactly', () => {
  const w = randn(3 * 40, 0.1), q = quantizeRows(w, 3, 40, { bits: 8, blockSize: 32, symmetric: true }), d = dequantizeRows(q);
  assert.equal(q.scales.length, 3 * 2);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i] - d[i]) <= q.scales[Math.floor(i / 40) * 2 + Math.floor((i % 40) / 32)] / 2 + 1e-7);
});

test('Wᵀ re-quantized from the packed values equals quantizing the dequantized matrix transposed', () => {
  for (const bits of [4, 8] as const) {
    const q = quantizeRows(randn(40 * 64, 0.1), 40, 64, { bits, blockSize: 16, symmetric: false });
    const want = quantizeRows(Float32Array.from(dequantizeRows(q)), 64, 40, { bits: 8, blockSize: 16, symmetric: true }, true);
    const got = transposeQuantized(q, { bits: 8, blockSize: 16, symmetric: true });
    assert.deepEqual([got.n, got.k], [64, 40]);
    assert.deepEqual(got.packed, want.packed);
    assert.deepEqual(got.scales, want.scales);
  }
});

test('one MatMulNBits layer equals x·Wᵀ in float64 over the dequantized weights (accuracy float: 1e-5; int8: 2e-2 of max)', async () => {
  const n = 48, k = 128, m = 5;
  for (const bits of [4, 8] as const) {
    for (const symmetric of [true, false]) {
      const q = quantizeRows(randn(n * k, 0.1), n, k, { bits, blockSize: 32, symmetric });
      const ref = dequantizeRows(q);
      const x = randn(m * k);
      const want = new Float64Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let c = 0; c < k; c++) s += x[i * k + c] * ref[j * k + c];
          want[i * n + j] = s;
        }
      }
      const maxRef = Math.max(...want.map(Math.abs));
      for (const accuracyLevel of [0, 4] as const) {
        const g = new Graph('nbits');
        const xs = g.input('x', 'float32', ['M', k]);
        const b = g.constant(q.packed, [n, k / 32, (32 * bits) / 8], 'w', { dtype: 'uint8', external: true });
        const s = g.constant(q.scales, [n, k / 32], 's', { external: true });
        const z = q.zeroPoints ? g.constant(q.zeroPoints, [n, q.zeroPoints.length / n], 'z', { dtype: 'uint8', external: true }) : null;
        g.output('y', matMulNBits(xs, b, s, z, { bits, blockSize: 32, k, n, accuracyLevel }));
        const y = (await (await compile(g)).run({ x: { data: x, dims: [m, k] } })).y.data as Float32Array;
        let err = 0;
        for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - want[i]));
        const tol = accuracyLevel === 0 ? 1e-5 * maxRef : 2e-2 * maxRef;
        assert.ok(err <= tol, `int${bits} ${symmetric ? 'sym' : 'zp'} level ${accuracyLevel}: max error ${err} > ${tol}`);
      }
    }
  }
});

/** The float model over the dequantized values of the quantized one: the reference for the quantized graphs. */
async function dequantizedTwin(base: Awaited<ReturnType<typeof loadCheckpoint>>): Promise<CausalLM> {
  const weights = new Map(base.weights);
  for (const [name, t] of base.quant!.tensors) weights.set(name, Float32Array.from(dequantizeRows(t)));
  return new CausalLM(base.config, weights, base.shapes);
}

test('dY·W over a packed W, dequantized in chunks of rows (the LM head backward without a Wᵀ packing), equals float64', async () => {
  const n = 10, k = 64, m = 3;
  for (const [bits, symmetric] of [[4, true], [4, false], [8, false]] as const) {
    const q = quantizeRows(randn(n * k, 0.1), n, k, { bits, blockSize: 32, symmetric });
    const wd = dequantizeRows(q), dy = randn(m * n);
    const g = new Graph('dq_chunks');
    const b = g.constant(q.packed, [n, 2, (32 * bits) / 8], 'b', { dtype: 'uint8' });
    const sc = g.constant(q.scales, [n, 2], 's');
    const zp = q.zeroPoints ? g.constant(q.zeroPoints, [n, q.zeroPoints.length / n], 'z', { dtype: 'uint8' }) : null;
    const l = { bits, blockSize: 32, k, n };
    const x = g.input('dy', 'float32', [m, n]);
    g.output('whole', matmulDequantized(x, b, sc, zp, l));
    g.output('chunks', matmulDequantized(x, b, sc, zp, l, 3 * k)); // 4 chunks of ≤ 3 rows
    const r = await (await compile(g)).run({ dy: { data: dy, dims: [m, n] } });
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < k; j++) {
        let want = 0;
        for (let c = 0; c < n; c++) want += dy[i * n + c] * wd[c * k + j];
        for (const out of ['whole', 'chunks']) {
          assert.ok(Math.abs(Number(r[out].data[i * k + j]) - want) < 1e-5, `${out} int${bits} [${i}, ${j}]: ${r[out].data[i * k + j]} vs ${want}`);
        }
      }
    }
    assert.ok(g.nodes.filter((x) => x.op === 'Cast').length >= 5, 'the chunked product dequantizes chunk by chunk');
  }
});

test('a whole quantized tiny model: logits equal the float model over the same dequantized weights', async () => {
  const ids = [[257, 72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100], [257, 84, 104, 101, 32, 101, 110, 100]];
  for (const quantize of ['int8', 'int4'] as const) {
    for (const accuracy of ['float', 'int8'] as const) {
      const base = await loadCheckpoint(model, { quantize: { quantize, accuracy, block: 16 } });
      const q = await new CausalLM(base.config, base.weights, base.shapes, { quant: base.quant }).score(ids, { logits: true, padId: 258 });
      const r = await (await dequantizedTwin(base)).score(ids, { logits: true, padId: 258 });
      let err = 0, max = 0;
      for (let i = 0; i < r.logits!.length; i++) {
        err = Math.max(err, Math.abs(q.logits![i] - r.logits![i]));
        max = Math.max(max, Math.abs(r.logits![i]));
      }
      const tol = accuracy === 'float' ? 1e-4 * max : 5e-2 * max;
      assert.ok(
        err <= tol,
        `${quantize} accuracy ${accuracy}: logits differ by ${err} (max |logit| ${max.toFixed(3)}, tolerance ${tol.toExponential(2)})`,
      );
    }
  }
});

test('loading with --quantize keeps no float copy of quantized tensors, and they never become graph inputs', async () => {
  const base = await loadCheckpoint(model, { quantize: 'int4', tokenizer: false });
  const quantized = [...base.quant!.tensors.keys()];
  assert.ok(quantized.includes('model.embed_tokens.weight') && quantized.includes('lm_head.weight'));
  assert.equal(quantized.length, linearModules(base.config).length + 2);
  for (const n of quantized) assert.equal(base.weights.has(n), false, `${n} is also held in float32`);
  assert.deepEqual([...base.weights.keys()].filter((n) => !/norm/.test(n)), [], 'only norms stay float');
  const lm = new CausalLM(base.config, base.weights, base.shapes, { quant: base.quant });
  const { weightInputs } = await lm.graph({ mode: 'decode' });
  assert.deepEqual(weightInputs.filter((n) => base.quant!.tensors.has(n)), []);
  assert.equal(base.quantization, 'int4-b32-sym-acc8');
  await assert.rejects(
    loadCheckpoint(model, { quantize: { quantize: 'int4', block: 128 } }),
    (e) =>
      isLorakitError(e) &&
      e.code === 'LK_QUANT' &&
      /cannot quantize '[\w.]+' \[\d+, 64\] with block 128/.test(e.message),
  );
  await assert.rejects(loadCheckpoint(model, { quantize: { quantize: 'int4', block: 48 } }), (e) => isLorakitError(e) && e.code === 'LK_QUANT');
});

test('quantizing while loading, in parts of whole rows, gives the bytes of quantizeRows over each whole tensor', async () => {
  const floats = await loadCheckpoint(model, { tokenizer: false });
  for (const [quantize, zeroPoint, quantizedIn, part] of [
    ['int4', false, 'files', 64 * 3], ['int8', true, 'memory', 64], ['int4', true, 'files', 1 << 20],
  ] as const) {
    const ck = await loadCheckpoint(model, { quantize: { quantize, zeroPoint }, tokenizer: false, quantizedIn, quantPartElements: part });
    for (const [name, t] of ck.quant!.tensors) {
      const [n, k] = ck.shapes.get(name)!;
      const want = quantizeRows(floats.weights.get(name)!, n, k, { bits: quantize === 'int4' ? 4 : 8, blockSize: 32, symmetric: !zeroPoint });
      const label = `${name}: ${quantize}${zeroPoint ? ' zp' : ''} in ${quantizedIn}, parts of ${part}`;
      assert.deepEqual([t.n, t.k], [n, k], label);
      const bytes = (a: Uint8Array | null): Uint8Array | null => a && new Uint8Array(a); // files read back as Buffers
      assert.deepEqual(bytes(t.packed), want.packed, label);
      assert.deepEqual(t.scales, want.scales, label);
      assert.deepEqual(bytes(t.zeroPoints), want.zeroPoints, label);
    }
  }
});

test('LoRA gradients through a quantized base match finite differences of the same quantized model', async () => {
  for (const quantize of ['int8', 'int4'] as const) {
    const base = await loadCheckpoint(model, { quantize: { quantize, accuracy: 'float', block: 16 } });
    const lm = new CausalLM(base.config, base.weights, base.shapes, { quant: base.quant });
    const lora = parseLoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj', 'down_proj'] }, 'test', ['q_proj']);
    const sites = resolveSites(lora, linearModules(base.config));
    const tensors = initLoraTensors(sites, 'gaussian', 3);
    for (const t of tensors.values()) for (let i = 0; i < t.data.length; i++) if (t.data[i] === 0) t.data[i] = rng.normal() * 0.05; // B ≠ 0
    const names = [...tensors.keys()].sort();
    const adapter = bindAdapter({ config: lora, sites, tensors });
    const step = await TrainStep.create(lm, adapter, names, { packed: false });
    const seqs = [[257, 72, 105, 32, 116, 104, 101, 114, 101, 33], [257, 87, 104, 97, 116, 63]].map((ids) => ({ ids, target: ids.map(() => true) }));
    const batch = makeTrainBatch(seqs, 258, false);
    const grads = names.map((n) => new Float32Array(tensors.get(n)!.data.length));
    await step.run(batch, adapter, grads);
    const loss = async (): Promise<number> => (await lm.scoreBatch(batch, { adapter })).lossSum;
    let checked = 0;
    // Layer 0 tensors: their gradient flows back through every quantized layer above and the quantized LM head.
    for (const name of names.filter((n) => n.includes('layers.0.'))) {
      const g = grads[names.indexOf(name)], p = tensors.get(name)!.data;
      const top = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 3);
      for (const i of top) {
        const eps = 1e-2, keep = p[i];
        p[i] = keep + eps; const up = await loss();
        p[i] = keep - eps; const down = await loss();
        p[i] = keep;
        const fd = (up - down) / (2 * eps);
        assert.ok(Math.abs(fd - g[i]) <= 2e-2 * Math.abs(fd) + 2e-3, `${quantize} ${name}[${i}]: analytic ${g[i]} vs finite difference ${fd}`);
        checked++;
      }
    }
    assert.equal(checked, 18); // A and B of three modules, three coordinates each
  }
});

test('int8 compute: gradients through the Wᵀ packing stay within 5% of the exact (dequantized) gradients', async () => {
  const grads = async (accuracy: 'float' | 'int8'): Promise<Float32Array[]> => {
    const base = await loadCheckpoint(model, { quantize: { quantize: 'int4', accuracy, block: 16 } });
    const lm = new CausalLM(base.config, base.weights, base.shapes, { quant: base.quant });
    const lora = parseLoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] }, 'test', ['q_proj']);
    const sites = resolveSites(lora, linearModules(base.config));
    const tensors = initLoraTensors(sites, 'gaussian', 5);
    const r = new Rng(9);
    for (const t of tensors.values()) for (let i = 0; i < t.data.length; i++) if (t.data[i] === 0) t.data[i] = r.normal() * 0.05;
    const names = [...tensors.keys()].sort();
    const adapter = bindAdapter({ config: lora, sites, tensors });
    const step = await TrainStep.create(lm, adapter, names, { packed: false });
    const ids = [257, 84, 104, 101, 32, 106, 117, 114, 121, 32, 115, 97, 105, 100];
    const out = names.map((n) => new Float32Array(tensors.get(n)!.data.length));
    await step.run(makeTrainBatch([{ ids, target: ids.map(() => true) }], 258, false), adapter, out);
    return out;
  };
  const exact = await grads('float'), fast = await grads('int8');
  let diff = 0, norm = 0;
  exact.forEach((g, i) => g.forEach((v, j) => { diff += (v - fast[i][j]) ** 2; norm += v * v; }));
  const rel = Math.sqrt(diff / norm);
  assert.ok(norm > 0 && rel < 0.05, `relative gradient difference ${rel.toFixed(4)}`);
});

test('a loaded quantized base lives in files that ORT maps: same logits as in memory, no JS copy, folder gone at exit', async () => {
  const ids = [[257, 72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100]];
  const files = await loadCheckpoint(model, { quantize: 'int4', tokenizer: false });
  const memory = await loadCheckpoint(model, { quantize: 'int4', tokenizer: false, quantizedIn: 'memory' });
  const folders = new Set([...files.quant!.tensors.values()].map((t) => (isSpilled(t) ? t.files.packed.folder : 'in memory')));
  assert.equal(folders.size, 1);
  const folder = [...folders][0];
  assert.ok(existsSync(folder), `spilled tensors live in ${folder}`);
  assert.equal([...memory.quant!.tensors.values()].some(isSpilled), false);
  const score = async (b: typeof files): Promise<Float32Array> =>
    (await new CausalLM(b.config, b.weights, b.shapes, { quant: b.quant }).score(ids, { logits: true, padId: 258 }))
      .logits!;
  assert.deepEqual(await score(files), await score(memory));
  // A process removes its folder when it exits, and sweeps folders of processes that died without doing so.
  const root = mkdtempSync(join(tmpdir(), 'lk-packed-root-'));
  const stale = join(root, 'lorakit-packed-2147483646-abc');
  mkdirSync(stale);
  const script = `import { loadCheckpoint } from ${JSON.stringify(pathToFileURL(resolve('src/models/checkpoint.ts')).href)};
    const b = await loadCheckpoint(${JSON.stringify(model)}, { quantize: 'int4', tokenizer: false });
    console.log([...b.quant.tensors.values()][0].files.packed.folder);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, LORAKIT_PACKED_DIR: root },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const childFolder = r.stdout.trim();
  assert.ok(childFolder.startsWith(root), childFolder);
  assert.equal(existsSync(childFolder), false, 'the child removed its folder at exit');
  assert.equal(existsSync(stale), false, 'the folder of a dead process was swept');
  // A load that fails removes its folder at once.
  process.env.LORAKIT_PACKED_DIR = root;
  try {
    const failing = loadCheckpoint(model, { quantize: { quantize: 'int4', block: 128 }, tokenizer: false });
    await assert.rejects(failing, (e) => isLorakitError(e) && e.code === 'LK_QUANT');
  } finally {
    delete process.env.LORAKIT_PACKED_DIR;
  }
  assert.deepEqual(readdirSync(root), []);
  rmSync(root, { recursive: true, force: true });
});

test("QLoRA low-memory mode: the gradients of the packed path, with no decoder-layer weight handed to MatMulNBits", async () => {
  const base = await loadCheckpoint(model, { quantize: { quantize: 'int4', accuracy: 'float', block: 16 }, tokenizer: false });
  const lm = new CausalLM(base.config, base.weights, base.shapes, { quant: base.quant });
  const lora = parseLoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj', 'down_proj'] }, 'test', ['q_proj']);
  const sites = resolveSites(lora, linearModules(base.config));
  const tensors = initLoraTensors(sites, 'gaussian', 3);
  const r = new Rng(5);
  for (const t of tensors.values()) for (let i = 0; i < t.data.length; i++) if (t.data[i] === 0) t.data[i] = r.normal() * 0.05;
  const names = [...tensors.keys()].sort();
  const adapter = bindAdapter({ config: lora, sites, tensors });
  const ids = [257, 84, 104, 101, 32, 106, 117, 114, 121, 32, 115, 97, 105, 100];
  const batch = makeTrainBatch([{ ids, target: ids.map(() => true) }], 258, false);
  const run = async (qloraMode: 'fast' | 'low-memory'): Promise<{ grads: Float32Array[]; loss: number }> => {
    const step = await TrainStep.create(lm, adapter, names, { packed: false, qloraMode });
    const grads = names.map((n) => new Float32Array(tensors.get(n)!.data.length));
    return { grads, loss: (await step.run(batch, adapter, grads)).lossSum };
  };
  const fast = await run('fast'), low = await run('low-memory');
  assert.ok(Math.abs(fast.loss - low.loss) <= 1e-4 * Math.abs(fast.loss), `loss ${fast.loss} vs ${low.loss}`);
  let diff = 0, norm = 0;
  fast.grads.forEach((g, i) => g.forEach((v, j) => { diff += (v - low.grads[i][j]) ** 2; norm += v * v; }));
  assert.ok(norm > 0 && Math.sqrt(diff / norm) < 1e-4, `relative gradient difference ${Math.sqrt(diff / norm)}`);
  const built = buildCausalLMGraph(base.config, { mode: 'score', shapes: lm.shapes, quant: base.quant, quantKernels: 'dequantize' });
  const packedWeights = built.graph.nodes.filter((n) => n.op === 'MatMulNBits').map((n) => n.inputs[1]!.name);
  assert.deepEqual(packedWeights, ['lm_head.weight.qweight']);
});
