// One `scale` measurement in its own process, so its peak RSS (process.resourceUsage().maxRSS) is its own:
//   tsx bench/scale-child.ts <load|stream|decode|train> <model-dir> <precision> [tokens=32 batch=2 seq=256 steps=3 threads=N block=32]
// load: loadCheckpoint time, RSS, CPU time (and its kernel share, with the minor page faults behind it). stream: one
// pass of streamFloat32 {reuse} over every tensor (what a quantizer that converts and drops each f32 tensor pays for
// reading; no model held). decode: greedy batch-1 decode
// with KV cache, `tokens` new tokens after an 8-token prompt of random ids. train: LoRA r 16 on q,v, batch × seq random
// ids, AdamW, `steps` steps (the first warms up; tokens/s is the mean of the rest); qlora=low-memory picks that
// QLoRA mode, checkpointing=1 gradient checkpointing. Prints one JSON line. Random token ids: no tokenizer is needed.
import { Graph, compile, reduceSum } from '../src/engine/index.js';
import { CausalLM } from '../src/models/causal-lm.js';
import { loadCheckpoint, type LoadCheckpointOptions } from '../src/models/checkpoint.js';
import { generate } from '../src/models/generate.js';
import { openSafetensors } from '../src/models/safetensors.js';
import { embeddingName } from '../src/models/modules.js';
import { quantizedBytes } from '../src/models/quant/quantize.js';
import { adamwStep, defaultAdamW } from '../src/train/adamw.js';
import { makeTrainBatch } from '../src/train/batches.js';
import { benchLoraStep } from './lora-step.js';

export type ScaleMode = 'load' | 'stream' | 'decode' | 'train' | 'bandwidth';
export type ScalePrecision = 'float32' | 'int8' | 'int4';

const [mode, dir, precision, ...rest] = process.argv.slice(2) as [ScaleMode, string, ScalePrecision, ...string[]];
const kv = Object.fromEntries(rest.map((a) => a.split('=') as [string, string]));
const arg = (k: string, d: number): number => (kv[k] === undefined ? d : Number(kv[k]));
const threads = kv.threads === undefined ? undefined : Number(kv.threads);
const mb = (b: number): number => Math.round(b / 1e6);
const peakMb = (): number => Math.round((process.resourceUsage().maxRSS * 1024) / 1e6);

// int8 / int4: quantized while loading (symmetric, int8 compute, block 32 unless block=N: the defaults of --quantize).
const loadOpts: LoadCheckpointOptions = precision === 'float32' ? { tokenizer: false }
  : { tokenizer: false, quantize: { quantize: precision === 'int8' ? 'int8' : 'int4', block: arg('block', 32), accuracy: 'int8' } };

if (mode === 'bandwidth') {
  // Read bandwidth as ORT sees it with these threads: ReduceSum over 1 GiB of float32 (fed zero-copy), median of 5.
  const n = 1 << 28, g = new Graph('bandwidth');
  g.output('s', reduceSum(g.input('x', 'float32', [n]), [0], false));
  const session = await compile(g, { threads });
  const x = new Float32Array(n).fill(1);
  await session.run({ x: { data: x, dims: [n] } });
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await session.run({ x: { data: x, dims: [n] } });
    times.push(performance.now() - t0);
  }
  const med = times.sort((a, b) => a - b)[2] / 1000;
  process.stdout.write(JSON.stringify({ mode, read_gb_s: (4 * n) / 1e9 / med }) + '\n');
  process.exit(0);
}
if (mode === 'stream') {
  const c0 = process.cpuUsage(), t0 = performance.now();
  const set = openSafetensors(dir);
  const order = [...set.tensors.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.begin - b.begin));
  let bytes = 0;
  for await (const { info } of set.streamFloat32(order.map((t) => t.name), { requireFinite: true, reuse: true })) bytes += info.end - info.begin;
  set.close();
  const s = (performance.now() - t0) / 1000, cpu = process.cpuUsage(c0);
  const r = { mode, stream_s: s, stream_cpu_s: (cpu.user + cpu.system) / 1e6, stream_disk_mb_s: mb(bytes / s), peak_rss_mb: peakMb() };
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}
const c0 = process.cpuUsage(), faults0 = process.resourceUsage().minorPageFault;
const ck = await loadCheckpoint(dir, loadOpts);
const cpu = process.cpuUsage(c0), faults = process.resourceUsage().minorPageFault - faults0;
const diskBytes = Object.entries(ck.dtypesOnDisk).reduce((a, [d, n]) => a + n * (d === 'F32' ? 4 : d === 'F64' ? 8 : 2), 0);
const out: Record<string, number | string> = { mode, precision, parameters: ck.parameters };
if (mode === 'load') {
  Object.assign(out, {
    load_s: ck.loadMs / 1000, load_cpu_s: (cpu.user + cpu.system) / 1e6, load_sys_s: cpu.system / 1e6, load_page_faults: faults,
    disk_mb_per_s: mb(diskBytes / (ck.loadMs / 1000)),
    rss_mb: mb(ck.rssBytes), peak_rss_mb: peakMb(),
  });
}
const V = ck.config.vocabSize;
let seed = 12345;
const randomId = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % V; };
if (mode === 'decode') {
  const lm = new CausalLM(ck.config, ck.weights, ck.shapes, { threads, quant: ck.quant });
  const prompt = [Array.from({ length: 8 }, randomId)];
  await generate(lm, prompt, { maxNewTokens: 2, eosTokenIds: [] }); // compiles the sessions
  const r = await generate(lm, prompt, { maxNewTokens: arg('tokens', 32), eosTokenIds: [] });
  // Bytes read per token: every weight, except an untied input embedding (one row per token).
  const embed = ck.config.tieWordEmbeddings ? '' : embeddingName(ck.config);
  const weightBytes = [...ck.weights].reduce((a, [n, w]) => a + (n === embed ? 0 : w.byteLength), 0)
    + [...(ck.quant?.tensors ?? [])].reduce((a, [n, t]) => a + (n === embed ? 0 : quantizedBytes(t)), 0);
  Object.assign(out, {
    decode_tok_s: r.decodeSteps / (r.decodeMs / 1000), prefill_ms: r.prefillMs, weight_gb_per_token: weightBytes / 1e9,
    rss_mb: mb(process.memoryUsage().rss), peak_rss_mb: peakMb(),
  });
}
if (mode === 'train') {
  const lm = new CausalLM(ck.config, ck.weights, ck.shapes, { threads, quant: ck.quant, memPattern: false });
  const qloraMode = kv.qlora === 'low-memory' ? 'low-memory' : 'fast';
  const checkpointing = kv.checkpointing === '1';
  const { adapter, step, params, grads, adam } = await benchLoraStep(lm, ['q_proj', 'v_proj'], { threads, qloraMode, checkpointing });
  const B = arg('batch', 2), T = arg('seq', 256), steps = Math.max(2, arg('steps', 3));
  const rows = Array.from({ length: B }, () => ({ ids: Array.from({ length: T }, randomId), target: new Array<boolean>(T).fill(true) }));
  const batch = makeTrainBatch(rows, 0, false);
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    const r = await step.run(batch, adapter, grads);
    adamwStep(params, grads, adam, defaultAdamW, 1e-4, 1 / r.tokens);
    times.push(performance.now() - t0);
  }
  const mean = times.slice(1).reduce((a, b) => a + b, 0) / (times.length - 1);
  Object.assign(out, {
    qlora_mode: ck.quant ? qloraMode : 'n/a', train_tok_s: (B * T) / (mean / 1000), step_s: mean / 1000,
    first_step_s: times[0] / 1000, peak_rss_mb: peakMb(),
  });
}
process.stdout.write(JSON.stringify(out) + '\n');
