// `lorakit cluster status --replicas host:port,...`: residency and cache hit rates across serve replicas.
import { defineCommand } from '../command.js';
import { table } from './registry-common.js';

export interface ClusterStatusFlags { replicas: string; apiKey: string | undefined; json: boolean }
export const clusterStatusCmd = defineCommand<ClusterStatusFlags>({
  name: 'cluster status',
  summary: 'Readiness, resident adapters and cache hit rates across serve replicas',
  example: 'lorakit cluster status --replicas 10.0.0.11:8000,10.0.0.12:8000,10.0.0.13:8000',
  flags: {
    replicas: { arg: '<host:port,...>', help: 'the serve replicas (as given to deploy haproxy)', required: true },
    apiKey: { arg: '<key>', help: 'API key for replicas started with --api-keys' },
    json: { help: 'JSON output', default: false },
  },
  async run(f, io) {
    const [{ parseReplicas }, { clusterStatus }] = await Promise.all([import('../../serve/haproxy.js'), import('../../serve/cluster.js')]);
    const s = await clusterStatus(parseReplicas(f.replicas), { apiKey: f.apiKey });
    io.log(table(['replica', 'ready', 'phase', 'resident', 'loaded', 'hits', 'slot loads', 'hit rate'],
      s.replicas.map((r) => [r.replica, r.up ? String(r.ready) : 'DOWN', r.phase ?? '',
      String(r.resident.length), String(r.loaded.length), String(r.hits), String(r.slotLoads),
        r.hits + r.slotLoads ? (r.hits / (r.hits + r.slotLoads)).toFixed(3) : '-'])));
    if (s.duplicated.length) io.log(`resident on more than one replica: ${s.duplicated.join(', ')}`);
    io.done(
      s,
      `${s.replicas.filter((r) => r.ready).length}/${s.replicas.length} ready; ${s.adapters} adapters resident; ` +
        `cluster hit rate ${s.hitRate === null ? '-' : s.hitRate.toFixed(3)}`,
    );
  },
});
