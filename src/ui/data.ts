// What the dashboard's read-only JSON API returns, computed from a Tracker and a Registry. Pure reads:
// nothing here writes to either store.
import { LorakitError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { AdapterVersion, BaseRecord, EvalReportRecord, HistoryEvent } from '../registry/types.js';
import { compareRuns, type CompareTable } from '../track/compare.js';
import type { Tracker } from '../track/tracker.js';
import type { RunRecord } from '../track/types.js';

export interface RunRow {
  readonly id: string; readonly kind: string; readonly name: string | null; readonly status: string;
  readonly startedAt: string; readonly endedAt: string | null; readonly final: Record<string, number>; readonly lineage: RunRecord['lineage'];
}

export async function runsTable(tracker: Tracker, limit = 500): Promise<RunRow[]> {
  const runs = await tracker.listRuns({ limit });
  const finals = await tracker.finalMetricsOf(runs.map((r) => r.id));
  return runs.map((r) => ({
    id: r.id,
    kind: r.kind,
    name: r.name,
    status: r.status,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    final: finals.get(r.id) ?? {},
    lineage: r.lineage,
  }));
}

/** Series as [step, value] pairs (compact JSON for long runs). */
export async function runSeries(tracker: Tracker, id: string, keys?: readonly string[]): Promise<Record<string, [number, number | null][]>> {
  const run = await tracker.getRun(id);
  const m = await tracker.metrics(run.id, keys);
  return Object.fromEntries(
    Object.entries(m).map(([k, pts]) => [
      k,
      pts.map((p) => [p.step, Number.isFinite(p.value) ? p.value : null] as [number, number | null]),
    ]),
  );
}

export async function compareTable(tracker: Tracker, ids: readonly string[]): Promise<CompareTable> {
  if (ids.length < 1) throw new LorakitError('LK_ARG', "compare needs at least one run id in 'ids'");
  const runs: RunRecord[] = [];
  for (const id of ids) runs.push(await tracker.getRun(id));
  const finals = await tracker.finalMetricsOf(runs.map((r) => r.id));
  return compareRuns(runs, runs.map((r) => finals.get(r.id) ?? {}));
}

export interface BaseGroup {
  readonly base: Pick<BaseRecord, 'fingerprint' | 'name' | 'architecture' | 'parameters'> & { registered: boolean };
  readonly versions: AdapterVersion[];
}

/** Adapter versions grouped by the base they were trained on (registered bases first, by name). */
export async function adaptersByBase(registry: Registry): Promise<BaseGroup[]> {
  const groups = new Map<string, AdapterVersion[]>();
  for (const v of await registry.list()) groups.set(v.baseFingerprint, [...(groups.get(v.baseFingerprint) ?? []), v]);
  const bases = new Map((await registry.listBases()).map((b) => [b.fingerprint, b]));
  for (const fp of bases.keys()) if (!groups.has(fp)) groups.set(fp, []);
  return [...groups.entries()].map(([fp, versions]) => {
    const b = bases.get(fp);
    return {
      base: {
        fingerprint: fp,
        name: b?.name ?? null,
        architecture: b?.architecture ?? 'unknown',
        parameters: b?.parameters ?? 0,
        registered: !!b,
      },
      versions,
    };
  }).sort((x, y) => Number(y.base.registered) - Number(x.base.registered) || (x.base.name ?? '~').localeCompare(y.base.name ?? '~'));
}

export interface AdapterLineage {
  readonly dataset: string | null;
  readonly base: { fingerprint: string; name: string | null };
  readonly run: { id: string; kind: string; status: string; startedAt: string; config: Record<string, unknown> } | null;
  readonly adapter: AdapterVersion;
  readonly evals: EvalReportRecord[];
  readonly aliases: string[];
  readonly aliasHistory: HistoryEvent[];
}

/** data → run → adapter → eval → alias for one adapter version. */
export async function lineageOf(tracker: Tracker, registry: Registry, ref: string): Promise<AdapterLineage> {
  const d = await registry.show(ref);
  let run: AdapterLineage['run'] = null;
  if (d.version.runId) {
    try {
      const r = await tracker.getRun(d.version.runId);
      run = { id: r.id, kind: r.kind, status: r.status, startedAt: r.startedAt, config: r.config };
    } catch { /* the run lives in another LORAKIT_HOME: show its id only */ }
  }
  return {
    dataset: d.version.datasetFingerprint,
    base: { fingerprint: d.version.baseFingerprint, name: d.base?.name ?? null },
    run: run ?? (d.version.runId ? { id: d.version.runId, kind: '?', status: 'unknown', startedAt: '', config: {} } : null),
    adapter: d.version, evals: d.evalReports, aliases: d.version.aliases,
    aliasHistory: d.history.filter((e) => e.kind === 'alias-set' || e.kind === 'alias-rm'),
  };
}
