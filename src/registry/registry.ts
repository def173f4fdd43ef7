// The model registry: base models by fingerprint, adapters as numbered versions under a name, aliases that
// move with history, tags, stages, eval reports and a promotion gate. Metadata and bytes sit behind the async
// MetadataStore and BlobStore interfaces (embedded: SQLite + files under LORAKIT_HOME).
//
// Atomicity: a registration copies its blobs first (content addressed, so a crash leaves only orphans that
// `gc` removes), then writes every row in ONE store transaction. Either all rows exist or none do.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import { beginOutDir } from '../util/out-dir.js';
import { fingerprintAdapterDir, fingerprintModelDir } from '../models/fingerprint.js';
import { currentUser, lorakitHome } from '../track/home.js';
import type { Tracker } from '../track/tracker.js';
import { FsBlobStore } from './blob-store.js';
import { checkLabel, checkName, isFingerprint, parseRef, shortFp } from './refs.js';
import { precisionConflict, readBaseQuantization, versionPrecisionMismatch } from './precision.js';
import { storeSetting } from '../db/url.js';
import { blobRootFor, openMetadataStore, parseStoreUrl, type StoreOptions } from './open.js';
import {
  STAGES, type Actor, type AdapterVersion, type AliasGuard, type BaseRecord, type BlobCheck, type BlobStore, type EvalReport, type EvalReportRecord,
  type FileRecord, type HistoryEvent, type MetadataStore, type Stage, type TempBlob, type VersionFilter,
} from './types.js';

/** Who acts and why, for history rows (default who: $USER). */
export interface ActorOptions { readonly by?: string; readonly reason?: string }
export interface AddBaseOptions { readonly name?: string; readonly by?: string }
export interface AddAdapterOptions {
  readonly name: string;
  /** A registered base's name or fingerprint, or any 64-hex fingerprint. Default: lorakit.json's base_fingerprint. */
  readonly base?: string;
  readonly runId?: string;
  readonly datasetFingerprint?: string;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly by?: string;
  /** Register identical content again as a new version (default: return the existing version). */
  readonly allowDuplicate?: boolean;
}
export interface SetAliasOptions extends ActorOptions { readonly requireSuite?: string; readonly force?: boolean }
export interface RegisterResult { readonly version: AdapterVersion; readonly created: boolean }
export interface VerifyReport {
  readonly checked: number; readonly bytes: number; readonly bad: BlobCheck[]; readonly referencedMissing: string[];
  /** Metadata invariants that do not hold (MetadataStore.integrity); [] when the rows are consistent. */
  readonly problems: string[];
  /** Temp files of registrations in flight or killed (not corruption: `gc` removes the abandoned ones). */
  readonly temp: TempBlob[];
}
export interface GcReport {
  readonly removed: string[]; readonly bytesFreed: number; readonly kept: number;
  /** Temp files removed (or, with dryRun, that would be), their bytes, and those kept as possibly in flight. */
  readonly tempRemoved: number; readonly tempBytesFreed: number; readonly tempKept: number;
}

/** A temp file whose writer is gone is removed once idle this long. Not at once: a pid from another pid namespace
 *  (a container sharing LORAKIT_HOME) looks dead here, and a live writer touches its file every 4 MiB chunk. */
export const DEAD_WRITER_IDLE_MS = 60_000;
export interface AdapterDetail {
  readonly version: AdapterVersion;
  readonly base: BaseRecord | null;
  readonly files: FileRecord[];
  readonly evalReports: EvalReportRecord[];
  readonly history: HistoryEvent[];
}

const actor = (o: ActorOptions = {}): Actor => ({ who: o.by ?? currentUser(), at: new Date().toISOString(), why: o.reason ?? null });

export class Registry {
  constructor(readonly meta: MetadataStore, readonly blobs: BlobStore, readonly home: string) {}

  /** The registry under `home` (default $LORAKIT_HOME or ~/.lorakit): SQLite unless `store` or $LORAKIT_STORE
   *  names another store (postgres://…); blobs under `blobRoot`, $LORAKIT_BLOB_ROOT or <home>/blobs. */
  static open(home?: string, opts: StoreOptions = {}): Registry {
    const h = lorakitHome(home);
    const meta = openMetadataStore(parseStoreUrl(storeSetting(opts.store), h));
    return new Registry(meta, new FsBlobStore(blobRootFor(h, opts.blobRoot)), h);
  }

  async close(): Promise<void> { await this.meta.close(); }

  // ---------- bases ----------

  async addBase(dir: string, opts: AddBaseOptions = {}): Promise<BaseRecord> {
    if (opts.name !== undefined) checkName(opts.name);
    const fp = await fingerprintModelDir(dir);
    const existing = await this.meta.getBase(fp.fingerprint);
    if (existing && (opts.name === undefined || existing.name === opts.name)) return existing;
    for (const f of fp.files) await this.blobs.putFile(join(dir, f.name), f.sha256);
    const { files, ...meta } = fp;
    const rec: BaseRecord = {
      fingerprint: fp.fingerprint,
      name: opts.name ?? null,
      architecture: fp.architecture,
      parameters: fp.parameters,
      meta,
      source: resolve(dir),
      createdAt: new Date().toISOString(),
      createdBy: opts.by ?? currentUser(),
    };
    try {
      await this.meta.insertBase(rec, files);
    } catch (e) {
      // another process registered the same model meanwhile: same answer as if it had been first
      const now = await this.meta.getBase(fp.fingerprint);
      if (now && (opts.name === undefined || now.name === opts.name)) return now;
      throw e;
    }
    return rec;
  }

  /** A base by name, full fingerprint or fingerprint prefix (>= 8 hex). */
  async resolveBase(ref: string): Promise<BaseRecord> {
    const found = await this.meta.findBases(ref);
    const exact = found.find((b) => b.name === ref || b.fingerprint === ref);
    if (exact) return exact;
    if (found.length === 1) return found[0];
    if (found.length > 1) throw new LorakitError('LK_ARG', `base '${ref}' is ambiguous: ${found.map((b) => shortFp(b.fingerprint)).join(', ')}`);
    throw new LorakitError('LK_NOT_FOUND', `no base model '${ref}' in the registry`, {
      hint: "register it with 'lorakit registry add-base <dir> --name NAME'",
    });
  }

  async listBases(): Promise<BaseRecord[]> { return this.meta.listBases(); }

  /** "'llama-tiny' (3f2a…)" for a registered base, else the short fingerprint. */
  async describeBase(fp: string): Promise<string> {
    const b = await this.meta.getBase(fp);
    return b?.name ? `'${b.name}' (${shortFp(fp)})` : `${shortFp(fp)}${b ? '' : ' (not registered)'}`;
  }

  // ---------- adapters ----------

  async addAdapter(dir: string, opts: AddAdapterOptions): Promise<RegisterResult> {
    checkName(opts.name);
    const fp = await fingerprintAdapterDir(dir);
    const meta = fp.lorakit ?? {};
    const declared = meta.base_fingerprint;
    if (declared !== undefined && !isFingerprint(declared)) {
      throw new LorakitError(
        'LK_ADAPTER',
        `${join(dir, 'lorakit.json')}: 'base_fingerprint' must be 64 hex digits, got '${declared}'`,
        { details: { file: join(dir, 'lorakit.json') } },
      );
    }
    const baseQuantization = readBaseQuantization(dir, meta.base_quantization);
    let baseFp: string;
    if (opts.base !== undefined) {
      baseFp = isFingerprint(opts.base) && !(await this.meta.getBase(opts.base)) ? opts.base : (await this.resolveBase(opts.base)).fingerprint;
      if (declared && declared !== baseFp) {
        throw new LorakitError('LK_BASE_MISMATCH',
          `adapter '${dir}' was trained on base ${await this.describeBase(declared)} (its lorakit.json says so), ` +
            `not on base ${await this.describeBase(baseFp)} given with --base`,
          { details: { adapter: dir, adapterBase: declared, givenBase: baseFp } });
      }
    } else if (declared) {
      baseFp = declared;
    } else {
      throw new LorakitError(
        'LK_ARG',
        `adapter '${dir}' does not say which base it was trained on (no lorakit.json base_fingerprint)`,
        { hint: 'pass --base NAME|FINGERPRINT' },
      );
    }
    if (!opts.allowDuplicate) {
      const dup = await this.meta.findVersionByFingerprint(opts.name, fp.fingerprint);
      if (dup && dup.baseFingerprint === baseFp) {
        // Same files, same base: the same version, which must also agree on the precision (see precisionConflict).
        if (dup.baseQuantization !== baseQuantization) throw precisionConflict(dup, baseQuantization);
        return { version: dup, created: false };
      }
    }
    // 1. bytes first: content addressed, so a crash here leaves only unreferenced blobs.
    for (const f of fp.files) await this.blobs.putFile(join(dir, f.name), f.sha256);
    // 2. every row (version number, version, files, history) in one serialized transaction, which checks for
    //    identical content again: a concurrent registration may have won the race since the check above.
    return this.meta.insertVersion({
      name: opts.name, fingerprint: fp.fingerprint, baseFingerprint: baseFp, baseQuantization,
      datasetFingerprint: opts.datasetFingerprint ?? meta.dataset_fingerprint ?? null,
      runId: opts.runId ?? meta.run_id ?? null, loraConfig: fp.loraConfig, metrics: { ...(meta.metrics ?? {}), ...(opts.metrics ?? {}) },
      source: resolve(dir), createdAt: new Date().toISOString(), createdBy: opts.by ?? currentUser(),
    }, fp.files, { dedupe: !opts.allowDuplicate });
  }

  /** Registers the adapter a tracked run produced (its 'adapter' artifact, else <runDir>/adapter) and links the run to it. */
  async addAdapterFromRun(tracker: Tracker, runId: string, opts: Omit<AddAdapterOptions, 'runId'>): Promise<RegisterResult> {
    const run = await tracker.getRun(runId);
    const art = (await tracker.artifacts(run.id)).filter((a) => a.kind === 'adapter').pop();
    const dir = art?.path ?? (run.runDir ? join(run.runDir, 'adapter') : undefined);
    if (!dir || !existsSync(dir)) {
      throw new LorakitError(
        'LK_NOT_FOUND',
        `run ${run.id} has no adapter folder (no 'adapter' artifact${run.runDir ? ` and no ${join(run.runDir, 'adapter')}` : ''})`,
      );
    }
    const r = await this.addAdapter(dir, {
      ...opts, runId: run.id, datasetFingerprint: opts.datasetFingerprint ?? run.lineage.datasetFingerprint,
      base: opts.base ?? (existsSync(join(dir, 'lorakit.json')) ? undefined : run.lineage.baseFingerprint),
    });
    await tracker.updateLineage(run.id, { adapterVersion: r.version.ref });
    return r;
  }

  /** 'name' (latest), 'name@v3', 'name@latest' or 'name@<alias>'. */
  async resolve(ref: string): Promise<AdapterVersion> {
    const { name, selector } = parseRef(ref);
    const v = selector.kind === 'latest' ? await this.meta.latestVersion(name)
      : selector.kind === 'version' ? await this.meta.getVersion(name, selector.version)
        : await this.meta.aliasTarget(name, selector.alias);
    if (!v) {
      throw new LorakitError('LK_NOT_FOUND',
        selector.kind === 'alias' ? `adapter '${name}' has no alias '${selector.alias}'` : `no adapter '${ref}' in the registry`,
        { hint: selector.kind === 'alias' ? `see 'lorakit registry show ${name}'` : "see 'lorakit registry list'" });
    }
    return v;
  }

  async list(filter: VersionFilter = {}): Promise<AdapterVersion[]> { return this.meta.listVersions(filter); }

  async show(ref: string): Promise<AdapterDetail> {
    const v = await this.resolve(ref);
    const [base, files, evalReports, history] = await Promise.all([
      this.meta.getBase(v.baseFingerprint),
      this.meta.files({ kind: 'version', id: v.id }),
      this.meta.evalReports(v.id),
      this.meta.history(v.name),
    ]);
    return { version: v, base: base ?? null, files, evalReports, history };
  }

  async history(name: string, alias?: string): Promise<HistoryEvent[]> { return this.meta.history(checkName(name), alias ? { alias } : {}); }

  // ---------- aliases, tags, stages, eval reports ----------

  /** Points `alias` at the version. With requireSuite, refuses (LK_GATE) unless its latest report for that
   *  suite passed; `force` moves it anyway and the history row records the bypass. Checked in the same transaction. */
  async setAlias(ref: string, alias: string, opts: SetAliasOptions = {}): Promise<{ version: AdapterVersion; event: HistoryEvent }> {
    checkLabel(alias, 'alias');
    const v = await this.resolve(ref);
    const suite = opts.requireSuite;
    const guard: AliasGuard | undefined = suite === undefined ? undefined : (reports, ver) => {
      const last = reports.filter((r) => r.suite === suite).pop();
      // A passing report counts only if it scored this version's adapter on its base (issue 13): a report stored
      // before fingerprints were checked, or written by hand, does not.
      const foreign = last ? reportMismatch(last.report, ver) : null;
      if (last?.passed && !foreign) return { forced: false, detail: { requireSuite: suite, gate: 'passed', reportId: last.id } };
      const what = !last ? 'no' : foreign ? `a '${suite}' report that does not fit it (${foreign}) and no valid` : 'a failing';
      if (!opts.force) {
        throw new LorakitError('LK_GATE', `${ver.ref} has ${what} '${suite}' evaluation report; alias '${alias}' was not moved`,
          { hint: 'run the suite and attach a passing report, or pass --force (recorded in the alias history)',
            details: { ref: ver.ref, suite, alias } });
      }
      const gate = !last ? 'no report, forced' : foreign ? 'foreign report, forced' : 'failed, forced';
      return { forced: true, detail: { requireSuite: suite, gate } };
    };
    const event = await this.meta.moveAlias(v.id, alias, actor(opts), guard);
    return { version: await this.resolve(v.ref), event };
  }

  async removeAlias(name: string, alias: string, opts: ActorOptions = {}): Promise<HistoryEvent> {
    return this.meta.removeAlias(checkName(name), alias, actor(opts));
  }

  async tag(ref: string, tag: string, opts: ActorOptions & { remove?: boolean } = {}): Promise<AdapterVersion> {
    checkLabel(tag, 'tag');
    return this.meta.setTag((await this.resolve(ref)).id, tag, !opts.remove, actor(opts));
  }

  async setStage(ref: string, stage: Stage, opts: ActorOptions = {}): Promise<AdapterVersion> {
    if (!STAGES.includes(stage)) throw new LorakitError('LK_ARG', `stage must be one of ${STAGES.join(', ')}; got '${stage}'`);
    return this.meta.setStage((await this.resolve(ref)).id, stage, actor(opts));
  }

  /** Attaches a report to a version. It must carry the fingerprints of the adapter and the base it scored, and
   *  they must be this version's (a report about another adapter or base is refused), and `passed` must agree
   *  with its gate. */
  async addEvalReport(ref: string, report: EvalReport, opts: ActorOptions = {}): Promise<EvalReportRecord> {
    if (!report || typeof report.suite !== 'string' || report.suite === '' || typeof report.passed !== 'boolean') {
      throw new LorakitError('LK_ARG', "an eval report needs 'suite' (non-empty string) and 'passed' (boolean)");
    }
    const v = await this.resolve(ref);
    const { adapterFp, baseFp } = reportFingerprints(report);
    if (!adapterFp || !baseFp) {
      const missing = [adapterFp ? '' : "'adapter.fingerprint'", baseFp ? '' : "'model.fingerprint'"].filter(Boolean).join(' and ');
      const hint = 'attach the report.json that `lorakit eval --adapter ...` wrote (or run `lorakit eval --adapter REF`)';
      throw new LorakitError('LK_ARG', `the eval report for ${v.ref} has no ${missing}: the registry cannot tell which adapter and base it scored`,
        { hint, details: { ref: v.ref } });
    }
    if (adapterFp !== v.fingerprint) {
      const details = { ref: v.ref, reportAdapter: adapterFp, versionAdapter: v.fingerprint };
      throw new LorakitError('LK_CONFLICT', `the eval report scored adapter ${shortFp(adapterFp)}, but ${v.ref} is ${shortFp(v.fingerprint)}`,
        { hint: 'attach it to the version that holds the evaluated adapter', details });
    }
    if (baseFp !== v.baseFingerprint) {
      const [scored, own] = [await this.describeBase(baseFp), await this.describeBase(v.baseFingerprint)];
      throw new LorakitError('LK_BASE_MISMATCH', `the eval report scored ${v.ref} on base ${scored}, but it belongs to base ${own}`,
        { hint: 'evaluate the adapter on the base it was trained on', details: { ref: v.ref, reportBase: baseFp, versionBase: v.baseFingerprint } });
    }
    const gate = report.gate as { passed?: unknown; applied?: unknown } | undefined;
    if (gate && typeof gate === 'object' && (gate.passed !== report.passed || (report.passed && gate.applied === false))) {
      const says = gate.applied === false ? 'was not applied' : `says ${String(gate.passed)}`;
      throw new LorakitError('LK_ARG', `the eval report says passed: ${report.passed}, but its gate ${says}`, { details: { ref: v.ref } });
    }
    return this.meta.addEvalReport(v.id, report, actor(opts));
  }

  /** Deletes a version's rows (refused with LK_CONFLICT while an alias points at it); its blobs go at the next gc. */
  async deleteVersion(ref: string, opts: ActorOptions = {}): Promise<AdapterVersion> {
    return this.meta.deleteVersion((await this.resolve(ref)).id, actor(opts));
  }

  // ---------- compatibility ----------

  /** Refuses (LK_BASE_MISMATCH, naming both models) when the adapter was trained on another base. With `quantization`
   *  (the label of the precision the caller runs the base at), `precisionMismatch` is precisionMismatch's sentence when
   *  the version was trained at another one: a warning for the caller to print, not a refusal (issue 12). */
  async assertCompatible(
    adapterRef: string,
    baseDirOrRef: string,
    opts: { quantization?: string } = {},
  ): Promise<{ adapter: AdapterVersion; baseFingerprint: string; precisionMismatch: string | null }> {
    const adapter = await this.resolve(adapterRef);
    let fp: string;
    let label: string;
    if (existsSync(baseDirOrRef) && statSync(baseDirOrRef).isDirectory()) {
      fp = (await fingerprintModelDir(baseDirOrRef)).fingerprint;
      label = `the model in '${baseDirOrRef}', which is base ${await this.describeBase(fp)},`;
    } else {
      fp =
        isFingerprint(baseDirOrRef) && !(await this.meta.getBase(baseDirOrRef))
          ? baseDirOrRef
          : (await this.resolveBase(baseDirOrRef)).fingerprint;
      label = `base ${await this.describeBase(fp)}`;
    }
    if (fp !== adapter.baseFingerprint) {
      throw new LorakitError('LK_BASE_MISMATCH',
        `adapter ${adapter.ref} was trained on base ${await this.describeBase(adapter.baseFingerprint)}, but ${label} was given`,
        { hint: 'use the base the adapter was trained on, or retrain the adapter on this base',
          details: { adapter: adapter.ref, adapterBase: adapter.baseFingerprint, givenBase: fp } });
    }
    return { adapter, baseFingerprint: fp, precisionMismatch: versionPrecisionMismatch(adapter, opts.quantization) };
  }

  // ---------- export, verify, gc ----------

  /** Writes the version's files (adapter_config.json, adapter_model.safetensors, ...) to a new PEFT folder,
   *  re-hashing each blob on the way; the folder appears whole (temp folder + rename) or not at all. A non-empty
   *  folder that an earlier export did not write is refused (LK_OUT_EXISTS) unless `overwrite`. */
  async export(
    ref: string,
    outDir: string,
    opts: { overwrite?: boolean } = {},
  ): Promise<{ version: AdapterVersion; dir: string; files: FileRecord[] }> {
    const v = await this.resolve(ref);
    const files = await this.meta.files({ kind: 'version', id: v.id });
    // The --out rule of util/out-dir.ts: a user's folder only with overwrite, never the registry's own store.
    const inputs = [
      ...(this.blobs.root ? [{ flag: 'the registry blob store', path: this.blobs.root }] : []),
      ...(this.meta.file ? [{ flag: 'the registry database', path: this.meta.file }] : []),
    ];
    const w = beginOutDir(outDir, { verb: 'registry export', overwrite: opts.overwrite, inputs });
    const out = w.target;
    try {
      for (const f of files) await this.blobs.copyOut(f.sha256, join(w.tmp, f.name));
      await this.writeBinding(v, w.tmp);
    } catch (e) {
      w.abort();
      throw e;
    }
    w.commit();
    return { version: v, dir: out, files };
  }

  /**
   * The exported folder keeps its base binding (issue 13): lorakit.json gets the version's base fingerprint (and the
   * base's name and the ref), so merge/score/serve of the folder on another base is refused. The adapter's own
   * fingerprint covers only adapter_config.json and the weights, so re-registering the folder finds the same version.
   */
  private async writeBinding(v: AdapterVersion, dir: string): Promise<void> {
    const file = join(dir, 'lorakit.json');
    let meta: Record<string, unknown> = {};
    if (existsSync(file)) {
      try { meta = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>; } catch { meta = {}; }
    }
    const base = await this.meta.getBase(v.baseFingerprint);
    // Say how the registry came to know the base: from the adapter's own lorakit.json (train, verified import), or
    // only from `registry add-adapter --base`, which the adapter itself did not confirm.
    const own = meta.base_fingerprint === v.baseFingerprint;
    const binding = {
      status: own ? 'fingerprint' : 'registry', checked_at: new Date().toISOString(),
      detail: own ? `lorakit.json of ${v.ref} records this base` : `bound to this base by 'registry add-adapter --base' (${v.ref})`,
    };
    const baseModel = base?.name ?? meta.base_model ?? base?.source;
    // base_quantization: the version's, as registered (read from this same lorakit.json then), so that score, generate,
    // eval, merge and serve of the exported folder warn about a precision mismatch like the original folder did.
    meta = {
      ...meta, base_fingerprint: v.baseFingerprint, base_model: baseModel, base_quantization: v.baseQuantization, registry_ref: v.ref,
      base_binding: binding,
    };
    writeFileSync(file, JSON.stringify(meta, null, 2) + '\n');
  }

  /** Re-hashes every blob and checks every referenced blob exists; by default throws LK_CORRUPT listing each bad one. */
  async verify(opts: { throwOnCorrupt?: boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<VerifyReport> {
    const referenced = await this.meta.referencedBlobs();
    const stored = await this.blobs.list();
    const storedSet = new Set(stored);
    const bad: BlobCheck[] = [];
    let bytes = 0;
    for (const [i, sha] of stored.entries()) {
      const c = await this.blobs.check(sha);
      bytes += (await this.blobs.stat(sha))?.bytes ?? 0;
      if (!c.ok) bad.push(c);
      opts.onProgress?.(i + 1, stored.length);
    }
    const referencedMissing = [...referenced].filter((s) => !storedSet.has(s)).sort();
    for (const s of referencedMissing) bad.push({ sha256: s, ok: false, missing: true, path: this.blobs.locate(s) });
    const problems = await this.meta.integrity();
    const report: VerifyReport = { checked: stored.length, bytes, bad, referencedMissing, problems, temp: await this.blobs.listTemp() };
    if ((bad.length || problems.length) && opts.throwOnCorrupt !== false) {
      const lines = [
        ...bad.map((b) => `  ${b.path}: ${b.missing ? 'missing' : `hashes to ${b.actual}`}`),
        ...problems.map((p) => `  metadata: ${p}`),
      ];
      const what = `${bad.length} blob${bad.length === 1 ? '' : 's'} and ${problems.length} metadata check${problems.length === 1 ? '' : 's'}`;
      throw new LorakitError('LK_CORRUPT', `${what} failed verification:\n${lines.join('\n')}`,
        { hint: 're-register the affected models from their source folders', details: { bad, problems } });
    }
    return report;
  }

  /** Removes blobs no row refers to, once older than `graceMs` (so a registration in flight keeps its blobs), and
   *  abandoned temp files: idle past `graceMs`, or idle DEAD_WRITER_IDLE_MS with their writer process gone. A temp
   *  file of a live writer that wrote it recently (a registration in flight) is never removed. */
  async gc(opts: { graceMs?: number; dryRun?: boolean } = {}): Promise<GcReport> {
    const grace = opts.graceMs ?? 3_600_000;
    const referenced = await this.meta.referencedBlobs();
    const removed: string[] = [];
    let bytesFreed = 0, kept = 0;
    for (const sha of await this.blobs.list()) {
      const st = referenced.has(sha) ? undefined : await this.blobs.stat(sha);
      if (!st || Date.now() - st.mtimeMs < grace) { kept++; continue; }
      if (!opts.dryRun) await this.blobs.remove(sha);
      removed.push(sha);
      bytesFreed += st.bytes;
    }
    let tempRemoved = 0, tempBytesFreed = 0, tempKept = 0;
    for (const t of await this.blobs.listTemp()) {
      const abandoned = t.ageMs >= grace || (t.writerAlive === false && t.ageMs >= Math.min(grace, DEAD_WRITER_IDLE_MS));
      if (!abandoned) { tempKept++; continue; }
      if (!opts.dryRun) await this.blobs.removeTemp(t);
      tempRemoved++;
      tempBytesFreed += t.bytes;
    }
    return { removed, bytesFreed, kept, tempRemoved, tempBytesFreed, tempKept };
  }
}

/** The adapter and base fingerprints a report says it scored (undefined where it says nothing usable). */
function reportFingerprints(r: EvalReport): { adapterFp?: string; baseFp?: string } {
  const fp = (o: unknown): string | undefined => {
    const v = o && typeof o === 'object' ? (o as { fingerprint?: unknown }).fingerprint : undefined;
    return typeof v === 'string' && isFingerprint(v) ? v : undefined;
  };
  return { adapterFp: fp(r.adapter), baseFp: fp(r.model) };
}

/** Why a stored report does not fit a version (missing or different fingerprints), or null when it does. */
function reportMismatch(r: EvalReport, v: AdapterVersion): string | null {
  const { adapterFp, baseFp } = reportFingerprints(r);
  if (!adapterFp || !baseFp) return 'it carries no adapter/base fingerprints';
  if (adapterFp !== v.fingerprint) return `it scored adapter ${shortFp(adapterFp)}, not ${shortFp(v.fingerprint)}`;
  if (baseFp !== v.baseFingerprint) return `it scored base ${shortFp(baseFp)}, not ${shortFp(v.baseFingerprint)}`;
  return null;
}
