// `npm run bench -- cluster`: (1) adapter cache hit rate and loads per 1,000 requests, affinity routing against
// round-robin, 64 adapters with Zipf popularity, --max-loras 8, 4 replicas: MEASURED with real HAProxy and serve
// replicas on one trace (bench/cluster-live.ts), beside the SIMULATION of the router and each replica's LRU
// (bench/cluster-sim.ts) over a longer trace; (2) registration throughput and alias-move latency of the registry
// on PostgreSQL (a throwaway local server) against SQLite, measured for real.
import { join } from 'node:path';
import { Registry } from '../src/registry/index.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { makeAdapter, makeBase, tmp } from '../test/registry/helpers.js';
import { liveRoot, registerAdapters, runPolicy, type LiveOptions } from './cluster-live.js';
import { simulate, zipfTrace } from './cluster-sim.js';
import type { BenchArea, BenchTable } from './types.js';

function routingTable(): BenchTable {
  const trace = zipfTrace(64, 50_000, 1.0, 7);
  const rows = ([
    ['round-robin', undefined],
    ['affinity (consistent hash)', undefined],
    ['affinity + hash-balance-factor 150', 150],
    ['affinity + hash-balance-factor 200', 200],
  ] as const)
    .map(([label, factor]) => {
      const r = simulate(trace, {
        replicas: 4,
        maxLoras: 8,
        policy: label === 'round-robin' ? 'round-robin' : 'affinity',
        balanceFactor: factor,
        inFlight: 8,
      });
      return { routing: label, 'hit rate': Number(r.hitRate.toFixed(3)), 'adapter loads / 1k req': Number(r.loadsPer1k.toFixed(1)),
        'busiest replica share': Number(r.maxShare.toFixed(3)), 'distinct adapters loaded / replica': Number(r.adaptersPerReplica.toFixed(1)) };
    });
  return {
    title:
      'cluster: adapter cache, affinity vs round-robin (SIMULATION: 64 adapters, Zipf s=1.0, 50k requests, 4 replicas, --max-loras 8, 8 in flight)',
    rows,
    notes: ['Simulated router + per-replica LRU over the same trace; the hash follows HAProxy lb_chash (sdbm key, full_hash, ' +
      '16 points per server), bounded load as hash-balance-factor.'],
  };
}

async function timeRegistry(label: string, open: (home: string) => Registry): Promise<Record<string, number | string>> {
  const root = tmp('lk-bench-cluster-');
  const reg = open(join(root, 'home'));
  const base = await reg.addBase(makeBase(join(root, 'base')), { name: 'tiny' });
  const N = 40, WRITERS = 4;
  const dirs = Array.from({ length: N }, (_, i) => makeAdapter(join(root, `ad${i}`), { seed: i + 1, baseFingerprint: base.fingerprint }));
  let t = performance.now();
  for (const d of dirs.slice(0, N / 2)) await reg.addAdapter(d, { name: 'seq' });
  const seqPerS = (N / 2) / ((performance.now() - t) / 1000);
  const writers = Array.from({ length: WRITERS }, () => open(join(root, 'home')));
  t = performance.now();
  await Promise.all(
    writers.map(async (w, k) => {
      for (let i = k; i < N / 2; i += WRITERS) await w.addAdapter(dirs[N / 2 + i], { name: `par-${i % 2}` });
    }),
  );
  const parPerS = (N / 2) / ((performance.now() - t) / 1000);
  const lat: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t1 = performance.now();
    await reg.setAlias(`seq@v${(i % 20) + 1}`, 'production');
    lat.push(performance.now() - t1);
  }
  lat.sort((a, b) => a - b);
  for (const w of writers) await w.close();
  await reg.close();
  return {
    store: label,
    'registrations/s (1 writer)': Number(seqPerS.toFixed(1)),
    [`registrations/s (${WRITERS} writers, 2 names)`]: Number(parPerS.toFixed(1)),
    'alias move p50 ms': Number(lat[50].toFixed(2)), 'alias move p95 ms': Number(lat[95].toFixed(2)) };
}

/** Requests in the measured trace (LK_BENCH_CLUSTER_REQUESTS, default 2000). */
const LIVE_REQUESTS = Number(process.env.LK_BENCH_CLUSTER_REQUESTS ?? 2000);

async function liveTable(pgUrl: string): Promise<BenchTable> {
  const root = liveRoot();
  const blobRoot = join(root, 'shared-blobs');
  const o: LiveOptions = { store: `${pgUrl}?schema=live`, adapters: 64, replicas: 4, maxLoras: 8, inFlight: 8, balanceFactor: 150 };
  await registerAdapters(root, o.store, blobRoot, o.adapters);
  const trace = zipfTrace(o.adapters, LIVE_REQUESTS, 1.0, 11);
  const rows = [];
  for (const policy of ['round-robin', 'affinity'] as const) {
    const r = await runPolicy(root, blobRoot, trace, policy, o);
    const sim = simulate(trace, {
      replicas: o.replicas,
      maxLoras: o.maxLoras,
      policy,
      balanceFactor: policy === 'affinity' ? o.balanceFactor : undefined,
      inFlight: o.inFlight,
    });
    rows.push({
      routing:
        policy === 'affinity'
          ? `affinity (generated config, hash-balance-factor ${o.balanceFactor})`
          : 'round-robin (same config, balance roundrobin)',
      'hit rate': Number(r.hitRate.toFixed(3)), 'adapter loads / 1k req': Number(r.loadsPer1k.toFixed(1)),
      'busiest replica share': Number(r.maxShare.toFixed(3)),
      'distinct adapters loaded / replica': Number(r.adaptersPerReplica.toFixed(1)),
      'simulated hit rate (same trace)': Number(sim.hitRate.toFixed(3)),
      'req/s': Number(r.requestsPerS.toFixed(1)), failures: r.failures,
    });
  }
  return {
    title: `cluster: adapter cache, affinity vs round-robin (MEASURED: HAProxy + ${o.replicas} serve replicas, ${o.adapters} adapters, ` +
      `Zipf s=1.0, ${LIVE_REQUESTS} requests, --max-loras ${o.maxLoras}, ${o.inFlight} in flight)`,
    rows,
    notes: ['Real HAProxy 2.6 and lorakit serve replicas on the bundled base (1 thread each, cold at the start of each policy), ' +
      'adapters loaded on demand from a throwaway PostgreSQL registry; hits and loads from the replicas\' /metrics; max_tokens 1, ' +
      'so req/s is routing + adapter loading + one decode step on a shared 2-core machine.'],
  };
}

export const bench: BenchArea = async () => {
  const tables: BenchTable[] = [];
  const pg = await startPostgres();
  try {
    tables.push(await liveTable(pg.url), routingTable());
    const rows = [
      await timeRegistry('SQLite (WAL)', (home) => Registry.open(home, { store: `sqlite:${join(home, 'registry.db')}` })),
      await timeRegistry('PostgreSQL 15 (local, fsync off)', (home) =>
        Registry.open(home, {
          store: `${pg.url}?schema=b_${Math.abs(home.split('').reduce((a, c) => (a * 31 + c.charCodeAt(0)) | 0, 0))}`,
        }),
      ),
    ];
    tables.push({ title: 'cluster: registry on PostgreSQL vs SQLite (tiny adapters, blobs on local disk)', rows,
      notes: ['The throwaway PostgreSQL runs with fsync=off (test settings), so its numbers are a lower bound on a production ' +
        'server\'s commit cost; SQLite runs WAL + synchronous=NORMAL.'] });
  } finally { pg.stop(); }
  return tables;
};
