// Memory of the training step (issue 12, item 3): structural checks on the graph ORT actually runs, not timings.
// - No Transpose (or other copy) reads a frozen base weight, in the graph we emit and in ORT's optimized model.
// - Gradient checkpointing: the recomputed layers survive ORT's optimizers, and gradients equal the plain ones.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type DecodedModel, clearSessionCache, decodeModel, emitModel, grad } from '../../src/engine/index.js';
import { bindAdapter } from '../../src/lora/adapter.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { resolveSites } from '../../src/lora/targets.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { buildCausalLMGraph } from '../../src/models/graphs.js';
import { linearModules } from '../../src/models/modules.js';
import { makeTrainBatch } from '../../src/train/batches.js';
import { TrainStep } from '../../src/train/step.js';
import { writeTinyModel } from '../helpers/tiny-model.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-stepmem-'));
after(async () => { await clearSessionCache(); rmSync(tmp, { recursive: true, force: true }); });

/** Ops that only rearrange or copy their first input: none may take a frozen weight. */
const COPY_OPS = new Set(['Transpose', 'Identity', 'Reshape', 'Expand', 'Concat', 'Tile', 'Cast', 'Slice', 'Split', 'Pad', 'Squeeze', 'Unsqueeze']);

interface Setup { lm: CausalLM; adapter: ReturnType<typeof bindAdapter>; names: string[] }

async function setup(arch: 'llama' | 'gpt2', targets: string | string[], dropout = 0): Promise<Setup> {
  const dir = writeTinyModel(join(tmp, `${arch}-${String(targets)}`), { arch, seed: 7, layers: 3 });
  const base = await loadCheckpoint(dir, { tokenizer: false });
  const lm = new CausalLM(base.config, base.weights, base.shapes, { threads: 1 });
  const raw = { r: 4, lora_alpha: 8, lora_dropout: dropout, target_modules: targets, fan_in_fan_out: arch === 'gpt2' };
  const cfg = parseLoraConfig(raw, 'test', ['q_proj']);
  const sites = resolveSites(cfg, linearModules(lm.config));
  const tensors = initLoraTensors(sites, 'gaussian', 1);
  for (const [k, t] of tensors) if (/lora_B/.test(k)) for (let i = 0; i < t.data.length; i++) t.data[i] = Math.sin(i + 1) * 0.1;
  return { lm, adapter: bindAdapter({ config: cfg, sites, tensors }), names: [...tensors.keys()].sort() };
}

function trainGraph(lm: CausalLM, adapter: ReturnType<typeof bindAdapter>, names: string[], checkpoint: boolean) {
  const shapes = new Map(lm.shapes);
  for (const [k, t] of adapter.tensors) shapes.set(k, t.dims);
  const built = buildCausalLMGraph(lm.config, { mode: 'score', shapes, wrapLinear: adapter.wrapLinear });
  const params = names.map((n) => built.graph.inputs.find((x) => x.name === n)!);
  grad(built.lossSum!, params, { checkpoint }).forEach((d, i) => built.graph.output(`grad.${names[i]}`, d));
  return built;
}

/** Every node of `m` that copies or rearranges a frozen weight, as 'Op(weight)'. */
function weightCopies(m: DecodedModel, frozen: ReadonlySet<string>): string[] {
  return m.nodes.filter((n) => COPY_OPS.has(n.opType) && frozen.has(n.inputs[0])).map((n) => `${n.opType}(${n.inputs[0]})`);
}

/** ORT's optimized version of the model (written by the runtime when LORAKIT_ORT_OPTIMIZED is set). */
async function optimized(step: () => Promise<unknown>): Promise<DecodedModel> {
  const prefix = join(mkdtempSync(join(tmp, 'opt-')), 'm');
  process.env.LORAKIT_ORT_OPTIMIZED = prefix;
  try { await step(); } finally { delete process.env.LORAKIT_ORT_OPTIMIZED; }
  const dir = join(prefix, '..');
  const files = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
  assert.equal(files.length, 1, `one optimized model written, got ${files.join(', ')}`);
  return decodeModel(readFileSync(join(dir, files[0])));
}

for (const [arch, targets] of [['llama', ['q_proj', 'v_proj']], ['llama', 'all-linear'], ['gpt2', 'all-linear']] as const) {
  test(`${arch} ${String(targets)}: no Transpose or copy of a frozen weight, emitted or after ORT's optimizers`, async () => {
    const { lm, adapter, names } = await setup(arch, targets as string | string[]);
    const frozen = new Set([...lm.shapes.keys()].filter((n) => !adapter.tensors.has(n)));
    const built = trainGraph(lm, adapter, names, false);
    const emitted = decodeModel(emitModel(built.graph).bytes);
    assert.deepEqual(weightCopies(emitted, frozen), []);
    const inPlace = emitted.nodes.some((n) => n.opType === 'FusedMatMul' && n.attrs.transB === 1 && frozen.has(n.inputs[1]));
    assert.ok(inPlace, 'x·Wᵀ reads W transposed in place');
    const m = await optimized(() => TrainStep.create(lm, adapter, names, { packed: false, threads: 1 }));
    assert.deepEqual(weightCopies(m, frozen), [], 'ORT did not add a copy either');
  });
}

test('gradient checkpointing: each layer is recomputed in the backward pass, and ORT keeps the copies', async () => {
  const { lm, adapter, names } = await setup('llama', ['q_proj', 'v_proj']);
  const frozen = new Set([...lm.shapes.keys()].filter((n) => !adapter.tensors.has(n)));
  const reads = (n: DecodedModel['nodes'][number]): boolean => n.inputs.some((x) => /mlp\.up_proj\.weight$/.test(x));
  const readers = (m: DecodedModel): number => m.nodes.filter((n) => /MatMul$/.test(n.opType) && reads(n)).length;
  const plain = decodeModel(emitModel(trainGraph(lm, adapter, names, false).graph).bytes);
  const ckpt = decodeModel(emitModel(trainGraph(lm, adapter, names, true).graph).bytes);
  const layers = lm.config.numLayers;
  // Plain: forward x·Wᵀ and backward dY·W per layer. Checkpointed: plus the recomputed forward.
  assert.equal(readers(plain), 2 * layers);
  assert.equal(readers(ckpt), 3 * layers);
  const opt = await optimized(() => TrainStep.create(lm, adapter, names, { packed: false, threads: 1, checkpointing: true }));
  assert.equal(readers(opt), 3 * layers, 'common-subexpression elimination did not merge the recomputed layers away');
  assert.deepEqual(weightCopies(opt, frozen), []);
});

for (const [arch, targets, dropout] of [['llama', ['q_proj', 'v_proj'], 0], ['llama', 'all-linear', 0.1], ['gpt2', 'all-linear', 0]] as const) {
  const what = `${arch} ${String(targets)}${dropout ? ' with dropout' : ''}`;
  test(`gradient checkpointing: ${what} gives the same loss and gradients (1e-6 relative)`, async () => {
    const { lm, adapter, names } = await setup(arch, targets as string | string[], dropout);
    const seqs = [[1, 5, 9, 200, 7, 3, 11, 42], [4, 8, 15, 16, 23, 42]];
    const batch = makeTrainBatch(seqs.map((ids) => ({ ids, target: ids.map(() => true) })), 0, false);
    const run = async (checkpointing: boolean) => {
      const step = await TrainStep.create(lm, adapter, names, { packed: false, threads: 1, checkpointing });
      const grads = names.map((n) => new Float32Array(adapter.tensors.get(n)!.data.length));
      const r = await step.run(batch, adapter, grads, 5);
      return { loss: r.lossSum, grads };
    };
    const a = await run(false), b = await run(true);
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-6 * Math.max(1, Math.abs(a.loss)), `loss ${a.loss} vs ${b.loss}`);
    let maxDiff = 0, maxAbs = 0;
    a.grads.forEach((g, i) => g.forEach((v, j) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - b.grads[i][j]));
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }));
    assert.ok(maxAbs > 0, 'gradients are not all zero');
    // Not always bit-equal: ORT fuses the forward differently once backward nodes no longer read its intermediates
    // (e.g. LayerNormalization for gpt2), which moves float32 rounding by a few ulps.
    assert.ok(maxDiff <= 1e-6 * Math.max(1, maxAbs), `max |Δgrad| ${maxDiff} (max |grad| ${maxAbs})`);
  });
}
