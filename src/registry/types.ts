// The registry's data model and its two storage interfaces. Metadata: SQLite (embedded, sqlite-store.ts) or
// PostgreSQL (shared, pg-store.ts), both through sql-store.ts; blobs: files under a root (blob-store.ts), which
// an object store can replace by implementing BlobStore. Types only.
import type { ModelFingerprint } from '../models/fingerprint.js';

export const STAGES = ['none', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];

export interface FileRecord { readonly name: string; readonly sha256: string; readonly bytes: number }

export interface BaseRecord {
  readonly fingerprint: string;
  readonly name: string | null;
  readonly architecture: string;
  readonly parameters: number;
  /** The fingerprint parts and metadata (dtypes, tokenizer hash, eos ids, ...), without the file list. */
  readonly meta: Omit<ModelFingerprint, 'files'>;
  readonly source: string;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface AdapterVersion {
  readonly id: number;
  readonly name: string;
  readonly version: number;
  /** 'name@v3' */
  readonly ref: string;
  readonly fingerprint: string;
  readonly baseFingerprint: string;
  /** The base precision it was trained at: 'none' (float) or a quantization label ('int4-b32-sym-acc8'); lorakit.json's
   *  base_quantization. Versions registered before the registry stored it read 'none'. */
  readonly baseQuantization: string;
  readonly datasetFingerprint: string | null;
  readonly runId: string | null;
  readonly loraConfig: Record<string, unknown>;
  readonly metrics: Record<string, number>;
  readonly stage: Stage;
  readonly source: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly aliases: string[];
  readonly tags: string[];
}

export type HistoryKind = 'register' | 'alias-set' | 'alias-rm' | 'stage' | 'tag' | 'untag' | 'delete' | 'eval';

export interface HistoryEvent {
  readonly id: number;
  readonly name: string;
  readonly kind: HistoryKind;
  /** The alias, stage, tag or suite concerned. */
  readonly target: string | null;
  readonly fromVersion: number | null;
  readonly toVersion: number | null;
  readonly who: string;
  readonly at: string;
  readonly why: string | null;
  /** A gate was bypassed with force. */
  readonly forced: boolean;
  readonly detail: Record<string, unknown>;
}

/** An evaluation report as `lorakit eval` writes it: {suite, passed} plus the fingerprints of the base it scored
 *  (`model.fingerprint`) and of the adapter (`adapter.fingerprint`), which the registry checks against the version. */
export interface EvalReport {
  readonly suite: string;
  readonly passed: boolean;
  readonly model?: { readonly fingerprint?: unknown; readonly [k: string]: unknown } | null;
  readonly adapter?: { readonly fingerprint?: unknown; readonly [k: string]: unknown } | null;
  readonly [k: string]: unknown;
}
export interface EvalReportRecord {
  readonly id: number;
  readonly versionId: number;
  readonly suite: string;
  readonly passed: boolean;
  readonly report: EvalReport;
  readonly createdAt: string;
}

export interface VersionFilter {
  readonly name?: string;
  readonly baseFingerprint?: string;
  readonly stage?: Stage;
  readonly tag?: string;
  readonly limit?: number;
}

export type NewVersion = Omit<AdapterVersion, 'id' | 'version' | 'ref' | 'aliases' | 'tags' | 'stage'>;
/** Who/when/why of a change; the store writes it as a history row in the same transaction as the change. */
export interface Actor { readonly who: string; readonly at: string; readonly why: string | null }
/** Runs inside moveAlias's transaction with the version's eval reports: throw to refuse, or say whether it was forced. */
export type AliasGuard = (reports: readonly EvalReportRecord[], version: AdapterVersion) => { forced: boolean; detail: Record<string, unknown> };

/**
 * Metadata: bases, adapter versions, files, aliases, tags, stages, history, eval reports. Every method that
 * changes state is atomic (one transaction, serialized against other writers of the same name: BEGIN IMMEDIATE
 * on SQLite, an advisory lock on PostgreSQL) and
 * writes its history row in the same transaction. Async so that a server database can implement it.
 */
export interface MetadataStore {
  /** The local database file, when the store has one (SQLite), so that no verb writes over it. */
  readonly file?: string;
  close(): Promise<void>;

  getBase(fingerprint: string): Promise<BaseRecord | undefined>;
  /** By name, full fingerprint, or fingerprint prefix of 8+ hex digits. */
  findBases(nameOrPrefix: string): Promise<BaseRecord[]>;
  listBases(): Promise<BaseRecord[]>;
  /** Refuses (LK_CONFLICT) a fingerprint already stored or a name taken by another base. */
  insertBase(base: BaseRecord, files: readonly FileRecord[]): Promise<void>;

  /** Allocates the next version number of `v.name` (monotonic, never reused after delete) and inserts it with its files.
   *  With `dedupe`, a version of the same name, fingerprint and base found INSIDE the write transaction is returned
   *  instead (created: false), so two concurrent registrations of identical content make one version; when the newest
   *  such version records another baseQuantization, refused (LK_CONFLICT; registry/precision.ts says why). */
  insertVersion(v: NewVersion, files: readonly FileRecord[], opts?: { dedupe?: boolean }): Promise<{ version: AdapterVersion; created: boolean }>;
  getVersion(name: string, version: number): Promise<AdapterVersion | undefined>;
  latestVersion(name: string): Promise<AdapterVersion | undefined>;
  aliasTarget(name: string, alias: string): Promise<AdapterVersion | undefined>;
  findVersionByFingerprint(name: string, fingerprint: string): Promise<AdapterVersion | undefined>;
  listVersions(filter?: VersionFilter): Promise<AdapterVersion[]>;
  /** Refuses (LK_CONFLICT) while an alias points at the version. */
  deleteVersion(id: number, actor: Actor): Promise<AdapterVersion>;
  setStage(id: number, stage: Stage, actor: Actor): Promise<AdapterVersion>;

  files(owner: FileOwner): Promise<FileRecord[]>;
  /** Every blob hash any base or version refers to. */
  referencedBlobs(): Promise<Set<string>>;

  /** Points `alias` at version `id` after `guard` accepts it; returns the history event written. */
  moveAlias(id: number, alias: string, actor: Actor, guard?: AliasGuard): Promise<HistoryEvent>;
  /** Removes an alias (LK_NOT_FOUND if absent); returns the history event written. */
  removeAlias(name: string, alias: string, actor: Actor): Promise<HistoryEvent>;
  setTag(id: number, tag: string, present: boolean, actor: Actor): Promise<AdapterVersion>;

  history(name: string, opts?: { alias?: string; limit?: number }): Promise<HistoryEvent[]>;

  addEvalReport(id: number, report: EvalReport, actor: Actor): Promise<EvalReportRecord>;
  evalReports(id: number): Promise<EvalReportRecord[]>;

  /** Cross-row invariants (file rows without a version, versions without files or a 'register' row, aliases
   *  pointing nowhere, a version counter behind its versions); one line per problem, [] when consistent. */
  integrity(): Promise<string[]>;
}

export type FileOwner = { readonly kind: 'base'; readonly fingerprint: string } | { readonly kind: 'version'; readonly id: number };

export interface BlobPut { readonly sha256: string; readonly bytes: number; readonly added: boolean }
/** A temp file in the blob store: its writer's pid (from the name), whether that process still runs (null: unknown,
 *  e.g. written by another machine of a shared blob mount), its size and how long since it was last written. */
export interface TempBlob {
  readonly path: string; readonly bytes: number; readonly ageMs: number; readonly pid: number | null; readonly writerAlive: boolean | null;
}
export interface BlobCheck {
  readonly sha256: string;
  readonly ok: boolean;
  readonly actual?: string;
  readonly missing?: boolean;
  readonly path: string;
}

/** Content-addressed bytes keyed by sha256 hex. Writes are all-or-nothing (a reader never sees a partial blob).
 *  Async so that an object store can implement it. */
export interface BlobStore {
  /** The local folder holding the blobs, when there is one, so that no verb writes over it. */
  readonly root?: string;
  /** Copies a file in, hashing on the way. With `expected`, an existing blob is reused without reading;
   *  a file whose bytes no longer hash to `expected` (changed since it was fingerprinted) is refused. */
  putFile(src: string, expected?: string): Promise<BlobPut>;
  has(sha256: string): Promise<boolean>;
  /** Copies a blob out to `dest`, re-hashing on the way; refuses (LK_CORRUPT) a blob that no longer matches. */
  copyOut(sha256: string, dest: string): Promise<void>;
  /** Re-hashes one blob. */
  check(sha256: string): Promise<BlobCheck>;
  list(): Promise<string[]>;
  /** Size and age, for gc's grace period. */
  stat(sha256: string): Promise<{ bytes: number; mtimeMs: number } | undefined>;
  remove(sha256: string): Promise<void>;
  /** Temp files of writes in flight or interrupted (a killed registration leaves one), oldest first. */
  listTemp(): Promise<TempBlob[]>;
  removeTemp(t: TempBlob): Promise<void>;
  /** Where a blob lives, for messages (a path or a URL). */
  locate(sha256: string): string;
}
