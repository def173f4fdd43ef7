// The registry's MetadataStore over any SqlDriver: every business rule (version numbering, alias moves and
// their history, the gate, deletion guarded by aliases, tags, stages, eval reports) lives here once, and
// runs the same on SQLite and PostgreSQL. Each change is ONE driver transaction that also writes its
// history row, so a writer killed mid-change leaves nothing half-visible.
//
// Concurrency: every change to an adapter name first takes the driver's lock on that name (PostgreSQL: an
// advisory transaction lock; SQLite: BEGIN IMMEDIATE already serializes all writers). Version numbers come
// from adapter_names.next_version, bumped in the same transaction, so concurrent writers on several machines
// get distinct numbers with no gap (a rolled-back registration also rolls back its bump).
import { LorakitError } from '../errors.js';
import { precisionConflict } from './precision.js';
import type { SqlDriver, SqlQuery } from '../db/sql.js';
import type {
  Actor, AdapterVersion, AliasGuard, BaseRecord, EvalReport, EvalReportRecord, FileOwner, FileRecord, HistoryEvent,
  HistoryKind, MetadataStore, NewVersion, Stage, VersionFilter,
} from './types.js';

interface VersionRow {
  id: number; name: string; version: number; fingerprint: string; base_fp: string; base_quantization: string; dataset_fp: string | null;
  run_id: string | null;
  lora_config: string;
  metrics: string;
  stage: string;
  source: string;
  created_at: string;
  created_by: string;
  aliases: string | null;
  tags: string | null;
}
interface BaseRow {
  fingerprint: string;
  name: string | null;
  architecture: string;
  parameters: number;
  meta: string;
  source: string;
  created_at: string;
  created_by: string;
}
interface HistoryRow {
  id: number;
  name: string;
  kind: string;
  target: string | null;
  from_version: number | null;
  to_version: number | null;
  who: string;
  at: string;
  why: string | null;
  forced: number;
  detail: string;
}
interface EvalRow { id: number; version_id: number; suite: string; passed: number; report: string; created_at: string }

const split = (s: string | null): string[] => (s ? s.split(',').sort() : []);
const toVersion = (r: VersionRow): AdapterVersion => ({
  id: Number(r.id), name: r.name, version: Number(r.version), ref: `${r.name}@v${r.version}`, fingerprint: r.fingerprint, baseFingerprint: r.base_fp,
  baseQuantization: r.base_quantization, datasetFingerprint: r.dataset_fp, runId: r.run_id, loraConfig: JSON.parse(r.lora_config),
  metrics: JSON.parse(r.metrics),
  stage: r.stage as Stage, source: r.source, createdAt: r.created_at, createdBy: r.created_by, aliases: split(r.aliases), tags: split(r.tags),
});
const toBase = (r: BaseRow): BaseRecord => ({
  fingerprint: r.fingerprint, name: r.name, architecture: r.architecture, parameters: Number(r.parameters), meta: JSON.parse(r.meta),
  source: r.source, createdAt: r.created_at, createdBy: r.created_by,
});
const toHistory = (r: HistoryRow): HistoryEvent => ({ id: Number(r.id), name: r.name, kind: r.kind as HistoryKind,
  target: r.target, fromVersion: r.from_version === null ? null : Number(r.from_version),
  toVersion: r.to_version === null ? null : Number(r.to_version), who: r.who, at: r.at, why: r.why,
    forced: Number(r.forced) === 1, detail: JSON.parse(r.detail) });
const toEval = (r: EvalRow): EvalReportRecord => ({
  id: Number(r.id),
  versionId: Number(r.version_id),
  suite: r.suite,
  passed: Number(r.passed) === 1,
  report: JSON.parse(r.report),
  createdAt: r.created_at,
});
export const ownerKey = (o: FileOwner): string => (o.kind === 'base' ? `base:${o.fingerprint}` : `version:${o.id}`);

interface HistoryFields {
  name: string;
  kind: HistoryKind;
  target: string | null;
  fromVersion: number | null;
  toVersion: number | null;
  forced?: boolean;
  detail?: Record<string, unknown>;
}

export class SqlMetadataStore implements MetadataStore {
  private readonly versionCols: string;

  constructor(readonly driver: SqlDriver) {
    this.versionCols = `v.*, (SELECT ${driver.listAgg('alias')} FROM aliases a WHERE a.version_id = v.id) AS aliases,
      (SELECT ${driver.listAgg('tag')} FROM tags t WHERE t.version_id = v.id) AS tags`;
  }

  async close(): Promise<void> { await this.driver.close(); }

  // ---- reads usable inside a transaction (q) or outside it (the driver) ----
  private async base(q: SqlQuery, fp: string): Promise<BaseRecord | undefined> {
    const r = await q.get<BaseRow>('SELECT * FROM bases WHERE fingerprint = ?', fp);
    return r && toBase(r);
  }
  private async byId(q: SqlQuery, id: number): Promise<AdapterVersion | undefined> {
    const r = await q.get<VersionRow>(`SELECT ${this.versionCols} FROM versions v WHERE id = ?`, id);
    return r && toVersion(r);
  }
  private async mustById(q: SqlQuery, id: number): Promise<AdapterVersion> {
    const v = await this.byId(q, id);
    if (!v) throw new LorakitError('LK_NOT_FOUND', `adapter version #${id} no longer exists (deleted meanwhile?)`);
    return v;
  }
  private async reports(q: SqlQuery, id: number): Promise<EvalReportRecord[]> {
    return (await q.all<EvalRow>('SELECT * FROM eval_reports WHERE version_id = ? ORDER BY id', id)).map(toEval);
  }
  private async writeHistory(q: SqlQuery, h: HistoryFields, a: Actor): Promise<HistoryEvent> {
    const r = await q.get<HistoryRow>('INSERT INTO history (name, kind, target, from_version, to_version, who, at, why, forced, detail) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
      h.name, h.kind, h.target, h.fromVersion, h.toVersion, a.who, a.at, a.why, h.forced ? 1 : 0, JSON.stringify(h.detail ?? {}));
    return toHistory(r!);
  }
  private async insertFiles(q: SqlQuery, owner: string, files: readonly FileRecord[]): Promise<void> {
    for (const f of files) await q.run('INSERT INTO files (owner, name, sha256, bytes) VALUES (?, ?, ?, ?)', owner, f.name, f.sha256, f.bytes);
  }
  /** A change to version `id`: locks its name, re-reads it under the lock, runs `fn` in the same transaction. */
  private async onVersion<T>(id: number, fn: (q: SqlQuery, v: AdapterVersion) => Promise<T>): Promise<T> {
    const before = await this.byId(this.driver, id);
    return this.driver.tx(async (q) => {
      if (before) await this.driver.lock(q, `name:${before.name}`);
      return fn(q, await this.mustById(q, id));
    });
  }
  private async aliasVersion(q: SqlQuery, name: string, alias: string): Promise<number | undefined> {
    const r = await q.get<{ version: number }>(
      'SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.name = ? AND a.alias = ?',
      name,
      alias,
    );
    return r && Number(r.version);
  }

  // ---- bases ----
  async getBase(fp: string): Promise<BaseRecord | undefined> { return this.base(this.driver, fp); }
  async findBases(s: string): Promise<BaseRecord[]> {
    const rows = s.length >= 8 && /^[0-9a-f]+$/.test(s)
      ? await this.driver.all<BaseRow>('SELECT * FROM bases WHERE name = ? OR fingerprint LIKE ? ORDER BY fingerprint LIMIT 5', s, `${s}%`)
      : await this.driver.all<BaseRow>('SELECT * FROM bases WHERE name = ? OR fingerprint = ? LIMIT 5', s, s);
    return rows.map(toBase);
  }
  async listBases(): Promise<BaseRecord[]> { return (await this.driver.all<BaseRow>('SELECT * FROM bases ORDER BY name, fingerprint')).map(toBase); }
  async insertBase(b: BaseRecord, files: readonly FileRecord[]): Promise<void> {
    await this.driver.tx(async (q) => {
      await this.driver.lock(q, 'bases');
      const same = await this.base(q, b.fingerprint);
      if (same) {
        throw new LorakitError(
          'LK_CONFLICT',
          `base ${b.fingerprint.slice(0, 12)}… is already registered${same.name ? ` as '${same.name}'` : ''}`,
          { details: { fingerprint: b.fingerprint } },
        );
      }
      const clash = b.name ? await q.get<{ fingerprint: string }>('SELECT fingerprint FROM bases WHERE name = ?', b.name) : undefined;
      if (clash) {
        throw new LorakitError(
          'LK_CONFLICT',
          `base name '${b.name}' is taken by another model (${clash.fingerprint.slice(0, 12)}…)`,
          { hint: 'choose another --name' },
        );
      }
      await q.run('INSERT INTO bases (fingerprint, name, architecture, parameters, meta, source, created_at, created_by) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        b.fingerprint, b.name, b.architecture, b.parameters, JSON.stringify(b.meta), b.source, b.createdAt, b.createdBy);
      await this.insertFiles(q, `base:${b.fingerprint}`, files);
    });
  }

  // ---- versions ----
  async insertVersion(
    v: NewVersion,
    files: readonly FileRecord[],
    opts: { dedupe?: boolean } = {},
  ): Promise<{ version: AdapterVersion; created: boolean }> {
    return this.driver.tx(async (q) => {
      await this.driver.lock(q, `name:${v.name}`);
      // Under the name's lock: another writer may have inserted this content since the caller's early check.
      const same = opts.dedupe
        ? await q.get<{ id: number }>('SELECT id FROM versions WHERE name = ? AND fingerprint = ? AND base_fp = ? ORDER BY version DESC LIMIT 1',
          v.name, v.fingerprint, v.baseFingerprint)
        : undefined;
      if (same) {
        const existing = await this.mustById(q, Number(same.id));
        if (existing.baseQuantization !== v.baseQuantization) throw precisionConflict(existing, v.baseQuantization);
        return { version: existing, created: false };
      }
      const { n } = (await q.get<{ n: number }>(`INSERT INTO adapter_names (name, next_version) VALUES (?, 2)
        ON CONFLICT (name) DO UPDATE SET next_version = adapter_names.next_version + 1 RETURNING next_version - 1 AS n`, v.name))!;
      const version = Number(n);
      const { id } = (await q.get<{ id: number }>(`INSERT INTO versions (name, version, fingerprint, base_fp, base_quantization, ` +
        `dataset_fp, run_id, lora_config, metrics, source, created_at, created_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, v.name, version, v.fingerprint, v.baseFingerprint, v.baseQuantization,
      v.datasetFingerprint, v.runId, JSON.stringify(v.loraConfig), JSON.stringify(v.metrics), v.source, v.createdAt, v.createdBy))!;
      await this.insertFiles(q, `version:${id}`, files);
      await this.writeHistory(
        q,
        {
          name: v.name,
          kind: 'register',
          target: null,
          fromVersion: null,
          toVersion: version,
          detail: { fingerprint: v.fingerprint },
        },
        { who: v.createdBy, at: v.createdAt, why: null },
      );
      return { version: await this.mustById(q, Number(id)), created: true };
    });
  }
  private async oneVersion(where: string, ...args: unknown[]): Promise<AdapterVersion | undefined> {
    const r = await this.driver.get<VersionRow>(`SELECT ${this.versionCols} FROM versions v ${where}`, ...args);
    return r && toVersion(r);
  }
  async getVersion(name: string, version: number): Promise<AdapterVersion | undefined> {
    return this.oneVersion('WHERE name = ? AND version = ?', name, version);
  }
  async latestVersion(name: string): Promise<AdapterVersion | undefined> {
    return this.oneVersion('WHERE name = ? ORDER BY version DESC LIMIT 1', name);
  }
  async aliasTarget(name: string, alias: string): Promise<AdapterVersion | undefined> {
    return this.oneVersion('JOIN aliases a ON a.version_id = v.id WHERE a.name = ? AND a.alias = ?', name, alias);
  }
  async findVersionByFingerprint(name: string, fp: string): Promise<AdapterVersion | undefined> {
    return this.oneVersion('WHERE name = ? AND fingerprint = ? ORDER BY version DESC LIMIT 1', name, fp);
  }
  async listVersions(f: VersionFilter = {}): Promise<AdapterVersion[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.name) { where.push('v.name = ?'); args.push(f.name); }
    if (f.baseFingerprint) { where.push('v.base_fp = ?'); args.push(f.baseFingerprint); }
    if (f.stage) { where.push('v.stage = ?'); args.push(f.stage); }
    if (f.tag) { where.push('EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.tag = ?)'); args.push(f.tag); }
    const sql = `SELECT ${this.versionCols} FROM versions v ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ` +
      `ORDER BY v.name, v.version${f.limit ? ' LIMIT ?' : ''}`;
    if (f.limit) args.push(f.limit);
    return (await this.driver.all<VersionRow>(sql, ...args)).map(toVersion);
  }
  async deleteVersion(id: number, a: Actor): Promise<AdapterVersion> {
    return this.onVersion(id, async (q, v) => {
      if (v.aliases.length) {
        throw new LorakitError('LK_CONFLICT',
          `cannot delete ${v.ref}: alias${v.aliases.length > 1 ? 'es' : ''} ${v.aliases.map((x) => `'${x}'`).join(', ')} ` +
            `point${v.aliases.length > 1 ? '' : 's'} at it`,
          { hint: `move or remove the alias first ('lorakit registry alias-rm ${v.name} ${v.aliases[0]}')`,
            details: { ref: v.ref, aliases: v.aliases } });
      }
      await q.run('DELETE FROM files WHERE owner = ?', `version:${id}`);
      for (const sql of [
        'DELETE FROM tags WHERE version_id = ?',
        'DELETE FROM eval_reports WHERE version_id = ?',
        'DELETE FROM versions WHERE id = ?',
      ])
        await q.run(sql, id);
      await this.writeHistory(
        q,
        {
          name: v.name,
          kind: 'delete',
          target: null,
          fromVersion: v.version,
          toVersion: null,
          detail: { fingerprint: v.fingerprint },
        },
        a,
      );
      return v;
    });
  }
  async setStage(id: number, stage: Stage, a: Actor): Promise<AdapterVersion> {
    return this.onVersion(id, async (q, v) => {
      await q.run('UPDATE versions SET stage = ? WHERE id = ?', stage, id);
      await this.writeHistory(
        q,
        {
          name: v.name,
          kind: 'stage',
          target: stage,
          fromVersion: v.version,
          toVersion: v.version,
          detail: { from: v.stage },
        },
        a,
      );
      return this.mustById(q, id);
    });
  }

  async files(owner: FileOwner): Promise<FileRecord[]> {
    return (
      await this.driver.all<FileRecord>(
        'SELECT name, sha256, bytes FROM files WHERE owner = ? ORDER BY name',
        ownerKey(owner),
      )
    ).map((f) => ({ ...f, bytes: Number(f.bytes) }));
  }
  async referencedBlobs(): Promise<Set<string>> {
    return new Set((await this.driver.all<{ sha256: string }>('SELECT DISTINCT sha256 FROM files')).map((r) => r.sha256));
  }

  // ---- aliases, tags, history, evals ----
  async moveAlias(id: number, alias: string, a: Actor, guard?: AliasGuard): Promise<HistoryEvent> {
    return this.onVersion(id, async (q, v) => {
      const verdict = guard ? guard(await this.reports(q, id), v) : { forced: false, detail: {} };
      const prev = await this.aliasVersion(q, v.name, alias);
      await q.run(
        'INSERT INTO aliases (name, alias, version_id) VALUES (?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET version_id = excluded.version_id',
        v.name,
        alias,
        id,
      );
      return this.writeHistory(
        q,
        {
          name: v.name,
          kind: 'alias-set',
          target: alias,
          fromVersion: prev ?? null,
          toVersion: v.version,
          forced: verdict.forced,
          detail: verdict.detail,
        },
        a,
      );
    });
  }
  async removeAlias(name: string, alias: string, a: Actor): Promise<HistoryEvent> {
    return this.driver.tx(async (q) => {
      await this.driver.lock(q, `name:${name}`);
      const prev = await this.aliasVersion(q, name, alias);
      if (prev === undefined) throw new LorakitError('LK_NOT_FOUND', `adapter '${name}' has no alias '${alias}'`);
      await q.run('DELETE FROM aliases WHERE name = ? AND alias = ?', name, alias);
      return this.writeHistory(q, { name, kind: 'alias-rm', target: alias, fromVersion: prev, toVersion: null }, a);
    });
  }
  async setTag(id: number, tag: string, present: boolean, a: Actor): Promise<AdapterVersion> {
    return this.onVersion(id, async (q, v) => {
      if (present) await q.run('INSERT INTO tags (version_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING', id, tag);
      else if ((await q.run('DELETE FROM tags WHERE version_id = ? AND tag = ?', id, tag)) === 0) {
        throw new LorakitError('LK_NOT_FOUND', `${v.ref} has no tag '${tag}'`);
      }
      await this.writeHistory(q, { name: v.name, kind: present ? 'tag' : 'untag', target: tag, fromVersion: null, toVersion: v.version }, a);
      return this.mustById(q, id);
    });
  }
  async history(name: string, opts: { alias?: string; limit?: number } = {}): Promise<HistoryEvent[]> {
    const rows = await this.driver.all<HistoryRow>(
      `SELECT * FROM history WHERE name = ? ${opts.alias ? "AND target = ? AND kind IN ('alias-set', 'alias-rm')" : ''} ORDER BY id LIMIT ?`,
      ...(opts.alias ? [name, opts.alias] : [name]), opts.limit ?? 10000);
    return rows.map(toHistory);
  }
  async addEvalReport(id: number, report: EvalReport, a: Actor): Promise<EvalReportRecord> {
    return this.onVersion(id, async (q, v) => {
      const r = await q.get<EvalRow>('INSERT INTO eval_reports (version_id, suite, passed, report, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *',
        id, report.suite, report.passed ? 1 : 0, JSON.stringify(report), a.at);
      await this.writeHistory(
        q,
        {
          name: v.name,
          kind: 'eval',
          target: report.suite,
          fromVersion: null,
          toVersion: v.version,
          detail: { passed: report.passed },
        },
        a,
      );
      return toEval(r!);
    });
  }
  async evalReports(id: number): Promise<EvalReportRecord[]> { return this.reports(this.driver, id); }

  async integrity(): Promise<string[]> {
    const problems: string[] = [];
    const count = async (sql: string): Promise<number> => Number((await this.driver.get<{ n: number }>(sql))!.n);
    const orphanFiles = await count(
      "SELECT count(*) AS n FROM files WHERE owner LIKE 'version:%' AND CAST(substr(owner, 9) AS INTEGER) NOT IN (SELECT id FROM versions)",
    );
    if (orphanFiles) problems.push(`${orphanFiles} file rows belong to no version`);
    const noFiles = await count(
      "SELECT count(*) AS n FROM versions v WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.owner = 'version:' || CAST(v.id AS TEXT))",
    );
    if (noFiles) problems.push(`${noFiles} versions have no files`);
    const dangling = await count('SELECT count(*) AS n FROM aliases a WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.id = a.version_id)');
    if (dangling) problems.push(`${dangling} aliases point at no version`);
    const unlogged = await count(
      'SELECT count(*) AS n FROM versions v WHERE NOT EXISTS ' +
        "(SELECT 1 FROM history h WHERE h.name = v.name AND h.kind = 'register' AND h.to_version = v.version)",
    );
    if (unlogged) problems.push(`${unlogged} versions have no 'register' history row`);
    const behind = await count(
      'SELECT count(*) AS n FROM adapter_names n WHERE n.next_version <= (SELECT max(v.version) FROM versions v WHERE v.name = n.name)',
    );
    if (behind) problems.push(`${behind} names would reuse a version number`);
    return problems;
  }
}
