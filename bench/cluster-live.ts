// The measured half of `npm run bench -- cluster`: the same Zipf trace of completions sent through a real HAProxy
// to 4 real `lorakit serve` replicas (bundled base, --max-loras 8, adapters loaded on demand from a throwaway
// PostgreSQL registry), once with the generated adapter-affinity config and once with that config switched to
// round-robin. Hit rate and loads come from the replicas' own /metrics counters. Each policy starts cold replicas.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadCheckpoint } from '../src/models/checkpoint.js';
import { defaultLoraTargets, linearModules } from '../src/models/modules.js';
import { parseLoraConfig } from '../src/lora/config.js';
import { resolveSites } from '../src/lora/targets.js';
import { initLoraTensors } from '../src/lora/init.js';
import { writeAdapter } from '../src/lora/peft-io.js';
import { Registry } from '../src/registry/index.js';
import { clusterStatus } from '../src/serve/cluster.js';
import { startHaproxy, startReplica, waitReady, type Proc } from '../test/cluster/harness.js';
import { tmp } from '../test/registry/helpers.js';

const MODEL = resolve('models/brown-llama');

export interface LiveOptions {
  readonly store: string;
  readonly adapters: number;
  readonly replicas: number;
  readonly maxLoras: number;
  readonly inFlight: number;
  readonly balanceFactor: number;
}
export interface LiveResult {
  readonly hitRate: number; readonly loadsPer1k: number; readonly maxShare: number; readonly adaptersPerReplica: number;
  readonly failures: number; readonly requestsPerS: number;
}

/** Registers `n` rank-4 adapters of the bundled base as adapter-0 … adapter-(n-1); returns the registry's home. */
export async function registerAdapters(root: string, store: string, blobRoot: string, n: number): Promise<void> {
  const reg = Registry.open(join(root, 'admin'), { store, blobRoot });
  try {
    const base = await reg.addBase(MODEL, { name: 'brown-llama' });
    const ck = await loadCheckpoint(MODEL, { tokenizer: false });
    const cfg = parseLoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] }, 'bench-cluster', defaultLoraTargets(ck.config));
    const sites = resolveSites(cfg, linearModules(ck.config));
    for (let i = 0; i < n; i++) {
      const dir = join(root, 'adapters', `adapter-${i}`);
      writeAdapter(dir, { config: cfg, tensors: initLoraTensors(sites, false, 1000 + i) }, { base_fingerprint: base.fingerprint });
      await reg.addAdapter(dir, { name: `adapter-${i}` });
    }
  } finally { await reg.close(); }
}

/** One policy: cold replicas, HAProxy in front, the trace at `inFlight` requests open at a time. */
export async function runPolicy(
  root: string,
  blobRoot: string,
  trace: readonly string[],
  policy: 'affinity' | 'round-robin',
  o: LiveOptions,
): Promise<LiveResult> {
  const dir = join(root, policy);
  const procs: Proc[] = [];
  try {
    for (let i = 0; i < o.replicas; i++) {
      mkdirSync(join(dir, `replica-${i}`), { recursive: true });
      procs.push(await startReplica({ model: MODEL, store: o.store, home: join(dir, `replica-${i}`), blobRoot, maxLoras: o.maxLoras }));
    }
    await Promise.all(procs.map((p) => waitReady(`http://127.0.0.1:${p.port}/ready`, 180_000, p.log)));
    const roundRobin = (cfg: string): string => {
      const out = cfg.replace(
        / {4}balance hash var\(txn\.model\)\n {4}hash-type consistent\n(?: {4}#[^\n]*\n)? {4}hash-balance-factor \d+\n/,
        '    balance roundrobin\n',
      );
      if (out === cfg) throw new Error('bench cluster: the generated config no longer has the hash lines this bench replaces');
      return out;
    };
    const hx = await startHaproxy(
      dir,
      procs.map((p) => p.port),
      { balanceFactor: o.balanceFactor, ...(policy === 'round-robin' ? { transform: roundRobin } : {}) },
    );
    procs.push(hx);
    await waitReady(`http://127.0.0.1:${hx.port}/ready`, 20_000, hx.log);
    await new Promise((r) => setTimeout(r, 2500)); // two health checks: every replica is up
    const servedBy = new Map<string, number>();
    let failures = 0, next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.inFlight }, async () => {
      while (next < trace.length) {
        const model = trace[next++];
        const r = await fetch(`http://127.0.0.1:${hx.port}/v1/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, prompt: 'The jury said', max_tokens: 1, temperature: 0 }),
        });
        await r.arrayBuffer();
        if (r.status !== 200) failures++;
        const s = r.headers.get('x-lorakit-replica') ?? '?';
        servedBy.set(s, (servedBy.get(s) ?? 0) + 1);
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    const status = await clusterStatus(procs.slice(0, o.replicas).map((p) => ({ host: '127.0.0.1', port: p.port })));
    const loads = status.replicas.reduce((s, r) => s + r.slotLoads, 0);
    return {
      hitRate: status.hitRate ?? 0, loadsPer1k: (1000 * loads) / trace.length, maxShare: Math.max(...servedBy.values()) / trace.length,
      adaptersPerReplica: status.replicas.reduce((s, r) => s + r.loaded.length, 0) / o.replicas, failures, requestsPerS: trace.length / seconds,
    };
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
  }
}

export const liveRoot = (): string => tmp('lk-bench-cluster-live-');
