// Serving benchmarks: decode throughput of the continuous-batching server with 1, 8 and 32 distinct adapters
// among the in-flight requests against the same load on the base alone (goal: 32 adapters >= 80% of base),
// cold adapter load time, slot switch cost, and a bounded load test (many clients, fixed time, zero failures,
// RSS before/after, p50/p99 latency). In-process (fastify inject), so HTTP parsing is excluded but JSON and
// tokenization are not. Model: a random tiny Llama (hidden 256, 4 layers, byte tokenizer; ≈ 2.5M parameters), smaller
// than the README's 29.5M table, so every row names it. Throughput is the median of interleaved rounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeTinyModel } from '../test/helpers/tiny-model.js';
import { loadCheckpoint } from '../src/models/checkpoint.js';
import { defaultLoraTargets, linearModules } from '../src/models/modules.js';
import { parseLoraConfig } from '../src/lora/config.js';
import { resolveSites } from '../src/lora/targets.js';
import { initLoraTensors } from '../src/lora/init.js';
import { writeAdapter } from '../src/lora/peft-io.js';
import { loadAdapterFor } from '../src/lora/load.js';
import { MultiLoraSlots, prepareAdapter } from '../src/lora/multi.js';
import { createServer, type LorakitServer } from '../src/serve/server.js';
import type { BenchArea, BenchCell, BenchTable } from './types.js';
import { modelLabel } from './reference-model.js';
import { interleave, median, rounds } from './stats.js';

const HIDDEN = Number(process.env.LK_BENCH_SERVE_HIDDEN ?? 256), LAYERS = Number(process.env.LK_BENCH_SERVE_LAYERS ?? 4);
const CLIENTS = 32, MAX_TOKENS = 32, ROUNDS = 4;

const R = rounds();
type Drive = Awaited<ReturnType<typeof drive>>;
const tps = (r: Drive): number => r.tokens / r.seconds;

/** One throughput row from R rounds of the same load: median tokens/s, pooled latency percentiles. */
function summarize(load: string, targets: string, rs: readonly Drive[], baseTps: number): Record<string, BenchCell> {
  const t = median(rs.map(tps)), lat = rs.flatMap((r) => r.lat);
  return { model, load, targets, requests: rs.reduce((a, r) => a + r.requests, 0), failed: rs.reduce((a, r) => a + r.failed, 0),
    'tokens/s': t, 'vs base': t / baseTps, 'p50 ms': pct(lat, 0.5), 'p99 ms': pct(lat, 0.99) };
}
let model = '';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
};

/** CLIENTS clients, each sending `rounds` requests in a row; request i of client c uses models[(c + i) % k]. */
async function drive(
  app: LorakitServer,
  models: readonly string[],
  o: { rounds?: number; untilMs?: number },
): Promise<{ tokens: number; seconds: number; failed: number; lat: number[]; requests: number }> {
  let tokens = 0, failed = 0, requests = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = 0; o.rounds ? i < o.rounds : performance.now() - t0 < o.untilMs!; i++) {
      const s = performance.now();
      const r = await app.inject({
        method: 'POST',
        url: '/v1/completions',
        payload: {
          model: models[(c + i) % models.length],
          prompt: `Request ${c}.${i}: the committee said that`,
          max_tokens: MAX_TOKENS,
          temperature: 0,
        },
      });
      requests++;
      if (r.statusCode !== 200) { failed++; continue; }
      tokens += r.json().usage.completion_tokens;
      lat.push(performance.now() - s);
    }
  }));
  return { tokens, seconds: (performance.now() - t0) / 1000, failed, lat, requests };
}

export const bench: BenchArea = async () => {
  const root = mkdtempSync(join(tmpdir(), 'lk-bench-serve-'));
  try {
    const base = writeTinyModel(join(root, 'base'), { hidden: HIDDEN, layers: LAYERS, seed: 9 });
    const ck = await loadCheckpoint(base, { tokenizer: true });
    model = modelLabel('tiny llama', ck.parameters) + ` (hidden ${HIDDEN}, ${LAYERS} layers, byte tokenizer)`;
    const adapters: Record<string, string> = {};
    const writeSet = (prefix: string, targets: string[] | string, n: number): string[] => {
      const cfg = parseLoraConfig({ r: 8, lora_alpha: 16, target_modules: targets }, 'bench', defaultLoraTargets(ck.config));
      const sites = resolveSites(cfg, linearModules(ck.config));
      return Array.from({ length: n }, (_, i) => {
        const dir = join(root, `${prefix}${i}`);
        writeAdapter(dir, { config: cfg, tensors: initLoraTensors(sites, false, 100 + i) });
        adapters[`${prefix}${i}`] = dir;
        return `${prefix}${i}`;
      });
    };
    const qv = writeSet('qv', ['q_proj', 'v_proj'], 32);
    const tables: BenchTable[] = [];

    // Throughput: same load (CLIENTS concurrent clients × ROUNDS requests × MAX_TOKENS tokens), different adapter mixes.
    const thr: Record<string, BenchCell>[] = [];
    const app = await createServer({
      model: ck,
      adapters: Object.fromEntries(qv.map((n) => [n, adapters[n]])),
      maxLoras: 32,
      maxBatch: 32,
      maxQueue: 256,
      servedModelName: 'base',
      preload: true,
    });
    await drive(app, ['base', ...qv], { rounds: 2 }); // warm-up: graphs compiled, every adapter resident once
    // Each load once per round, interleaved with the others, for R rounds; tokens/s is the median round,
    // latency percentiles pool every round (the machine is shared and noisy).
    const loads = [
      ['base alone', ['base']], ['1 adapter', qv.slice(0, 1)], ['8 adapters', qv.slice(0, 8)], ['32 adapters', qv],
      ['32 adapters + base', [...qv, 'base']],
    ] as const;
    const runs = await interleave(R, loads.map(([, models]) => () => drive(app, models, { rounds: ROUNDS })));
    const baseTps = median(runs[0].map(tps));
    loads.forEach(([label], i) => thr.push(summarize(label, label === 'base alone' ? '-' : 'q_proj,v_proj r8', runs[i], baseTps)));
    const slotsBytes = app.lorakit.adapters!.slots.bytes;
    await app.close();
    // all-linear adapters: the heavier case (7 adapted modules per layer).
    const al = writeSet('al', 'all-linear', 32);
    const app2 = await createServer({
      model: ck,
      adapters: Object.fromEntries(al.map((n) => [n, adapters[n]])),
      maxLoras: 32,
      maxBatch: 32,
      maxQueue: 256,
      servedModelName: 'base',
      preload: true,
    });
    await drive(app2, ['base', ...al], { rounds: 2 });
    const loads2 = [['base alone', ['base']], ['32 adapters', al]] as const;
    const runs2 = await interleave(R, loads2.map(([, models]) => () => drive(app2, models, { rounds: ROUNDS })));
    const base2 = median(runs2[0].map(tps));
    loads2.forEach(([label], i) => thr.push(summarize(label, label === 'base alone' ? '-' : 'all-linear r8', runs2[i], base2)));
    await app2.close();
    tables.push({
      title: `Serve throughput: ${CLIENTS} clients × ${ROUNDS} requests × ${MAX_TOKENS} tokens, ${model}, max batch 32; `
        + `median of ${R} interleaved rounds`,
      rows: thr,
      notes: ['Each load runs once per round, interleaved; tokens/s is the median round, p50/p99 pool all rounds, requests and failed are totals.',
        "'vs base' = tokens/s relative to the base alone of the same server (q,v rows: first row; all-linear rows: their own base row).",
        `Slot tensors for 33 slots of q,v r8: ${(slotsBytes / 2 ** 20).toFixed(1)} MiB.`] });

    // Adapter load (cold, from disk) and switch (write into a slot) cost.
    const cost: Record<string, string | number>[] = [];
    for (const [label, names] of [['q_proj,v_proj r8', qv.slice(0, 8)], ['all-linear r8', al.slice(0, 8)]] as const) {
      const loads: number[] = [], switches: number[] = [];
      const slots = new MultiLoraSlots(3);
      for (const n of names) {
        const t0 = performance.now();
        const a = await loadAdapterFor(ck, adapters[n], { allowOtherBase: true });
        const p = prepareAdapter(a);
        loads.push(performance.now() - t0);
        slots.addTargets(a.sites.map((s) => s.spec));
        const t1 = performance.now();
        for (let k = 0; k < 20; k++) slots.write(1 + (k % 2), p);
        switches.push((performance.now() - t1) / 20);
      }
      cost.push({ model, adapter: label, 'cold load ms (p50)': pct(loads, 0.5), 'cold load ms (max)': Math.max(...loads),
        'slot switch ms (p50)': pct(switches, 0.5), 'slot bytes': slots.bytes / 3 });
    }
    tables.push({ title: `Adapter load (disk → host, scaling folded) and switch (host → slot, memcpy), ${model}`, rows: cost });

    // Bounded load test: many clients over several adapters for a fixed time; RSS before and after.
    const app3 = await createServer({
      model: ck,
      adapters: Object.fromEntries(qv.slice(0, 8).map((n) => [n, adapters[n]])),
      maxLoras: 4,
      maxBatch: 16,
      maxQueue: 256,
      servedModelName: 'base',
    });
    const mix = ['base', ...qv.slice(0, 8)];
    await drive(app3, mix, { untilMs: 3000 });
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    const r = await drive(app3, mix, { untilMs: 10000 });
    global.gc?.();
    const rss1 = process.memoryUsage().rss;
    const evictions = app3.lorakit.adapters!.evictions;
    await app3.close();
    tables.push({ title: `Load test: 32 clients, 8 adapters + base over 4 slots (LRU), 10 s after a 3 s warm-up, ${model}`, rows: [{
      model, requests: r.requests, failed: r.failed, 'tokens/s': r.tokens / r.seconds, 'p50 ms': pct(r.lat, 0.5), 'p99 ms': pct(r.lat, 0.99),
      evictions,
      'RSS before MiB': rss0 / 2 ** 20, 'RSS after MiB': rss1 / 2 ** 20,
    }] });
    return tables;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
