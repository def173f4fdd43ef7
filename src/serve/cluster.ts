// `lorakit cluster status`: asks each serve replica for /ready, /v1/models and /metrics and sums up what the
// router achieved: adapters resident per replica, adapters resident on more than one replica (affinity broken
// or a failover), and the cache hit rate across the cluster.
import type { Replica } from './haproxy.js';

export interface ReplicaStatus {
  readonly replica: string;
  readonly up: boolean;
  readonly ready: boolean;
  readonly phase: string | null;
  readonly loaded: string[];
  readonly resident: string[];
  readonly hits: number;
  readonly slotLoads: number;
  readonly error?: string;
}
export interface ClusterStatus {
  readonly replicas: ReplicaStatus[];
  readonly hitRate: number | null;
  readonly duplicated: string[];
  readonly adapters: number;
}

/** Sum of a Prometheus metric's samples (all label sets) in text exposition format. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

async function probe(r: Replica, timeoutMs: number, headers: Record<string, string>): Promise<ReplicaStatus> {
  const base = `http://${r.host}:${r.port}`;
  const get = (path: string): Promise<Response> => fetch(base + path, { signal: AbortSignal.timeout(timeoutMs), headers });
  try {
    const ready = await get('/ready');
    const readyBody = await ready.json() as { phase?: string };
    const models = await (await get('/v1/models')).json() as { data: { id: string; parent?: string | null; loaded?: boolean; resident?: boolean }[] };
    const metrics = await (await get('/metrics')).text();
    const adapters = models.data.filter((m) => m.parent);
    return {
      replica: `${r.host}:${r.port}`,
      up: true,
      ready: ready.status === 200,
      phase: readyBody.phase ?? null,
      loaded: adapters.filter((m) => m.loaded).map((m) => m.id),
      resident: adapters.filter((m) => m.resident).map((m) => m.id),
      hits: metricSum(metrics, 'lorakit_adapter_cache_hits_total'),
      slotLoads: metricSum(metrics, 'lorakit_adapter_slot_loads_total'),
    };
  } catch (e) {
    return {
      replica: `${r.host}:${r.port}`,
      up: false,
      ready: false,
      phase: null,
      loaded: [],
      resident: [],
      hits: 0,
      slotLoads: 0,
      error: (e as Error).message,
    };
  }
}

export async function clusterStatus(replicas: readonly Replica[], opts: { timeoutMs?: number; apiKey?: string } = {}): Promise<ClusterStatus> {
  const headers: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
  const rs = await Promise.all(replicas.map((r) => probe(r, opts.timeoutMs ?? 5000, headers)));
  const count = new Map<string, number>();
  for (const r of rs) for (const a of r.resident) count.set(a, (count.get(a) ?? 0) + 1);
  const hits = rs.reduce((s, r) => s + r.hits, 0), loads = rs.reduce((s, r) => s + r.slotLoads, 0);
  return {
    replicas: rs,
    hitRate: hits + loads ? hits / (hits + loads) : null,
    duplicated: [...count]
      .filter(([, n]) => n > 1)
      .map(([a]) => a)
      .sort(),
    adapters: count.size,
  };
}
