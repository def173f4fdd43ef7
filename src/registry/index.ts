// The model registry: bases and adapters versioned together, aliases with history, eval reports and gates.
export { Registry } from './registry.js';
export type {
  ActorOptions,
  AddAdapterOptions,
  AddBaseOptions,
  AdapterDetail,
  GcReport,
  RegisterResult,
  SetAliasOptions,
  VerifyReport,
} from './registry.js';
export { FsBlobStore } from './blob-store.js';
export { SqliteMetadataStore } from './sqlite-store.js';
export { PgMetadataStore } from './pg-store.js';
export { parsePgUrl } from '../db/postgres.js';
export { SqlMetadataStore } from './sql-store.js';
export { openMetadataStore, parseStoreUrl, blobRootFor } from './open.js';
export type { StoreOptions, StoreUrl } from './open.js';
export { copyRegistry } from './copy.js';
export type { CopyReport } from './copy.js';
export { parseRef, checkName, checkLabel, isFingerprint, shortFp } from './refs.js';
export { STAGES } from './types.js';
export type {
  Actor, AdapterVersion, AliasGuard, BaseRecord, BlobStore, BlobCheck, EvalReport, EvalReportRecord, FileRecord,
  HistoryEvent, MetadataStore, Stage, VersionFilter,
} from './types.js';
