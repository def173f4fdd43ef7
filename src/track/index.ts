// Experiment tracking: runs, step metrics, artifacts and lineage in SQLite under LORAKIT_HOME, or in a shared PostgreSQL.
export { Tracker, captureEnvironment, isProcessAlive, lorakitVersion, processStartTime } from './tracker.js';
export type { ListRunsOptions, TrackerOptions } from './tracker.js';
export { TrackingStore, mergePatch } from './store.js';
export { compareRuns, formatCompare, flatten } from './compare.js';
export type { CompareRow, CompareTable } from './compare.js';
export { lorakitHome, currentUser } from './home.js';
export type { ArtifactRecord, Lineage, MetricPoint, RunEnvironment, RunHandle, RunKind, RunRecord, RunStatus, StartRunOptions } from './types.js';
export { RUN_KINDS, RUN_STATUSES } from './types.js';
