// The tracking data model: a run (train, eval, ...) with config, environment, status, step metrics, artifacts
// and lineage. Types and the two value lists; src/track/tracker.ts implements them over SQLite or PostgreSQL (store.ts).

/** The verbs that record a run: train, pretrain, eval, merge and registry export (src/cli/tracking.ts). */
export const RUN_KINDS = ['train', 'pretrain', 'eval', 'merge', 'export'] as const;
export type RunKind = (typeof RUN_KINDS)[number];
export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'killed'];

/** Where a run's inputs came from and what it produced (data → run → adapter → eval). */
export interface Lineage {
  readonly baseFingerprint?: string;
  readonly datasetFingerprint?: string;
  readonly parentRunId?: string;
  /** The registry entry the run produced, e.g. 'support@v3'. */
  readonly adapterVersion?: string;
  /** For eval runs: what was evaluated, e.g. 'support@v3'. */
  readonly evaluated?: string;
  readonly [k: string]: string | undefined;
}

export interface RunEnvironment {
  readonly node: string;
  readonly lorakit: string;
  readonly os: string;
  readonly arch: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
}

export interface RunRecord {
  readonly id: string;
  readonly kind: RunKind;
  readonly name: string | null;
  readonly status: RunStatus;
  readonly config: Record<string, unknown>;
  readonly params: Record<string, unknown>;
  readonly env: RunEnvironment;
  readonly lineage: Lineage;
  readonly summary: Record<string, unknown>;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly runDir: string | null;
}

export interface MetricPoint { readonly step: number; readonly value: number }

export interface ArtifactRecord {
  readonly runId: string;
  readonly name: string;
  readonly path: string;
  readonly kind: string;
  readonly bytes: number | null;
  readonly createdAt: string;
}

export interface StartRunOptions {
  readonly kind: RunKind;
  readonly name?: string;
  readonly config: Record<string, unknown>;
  readonly lineage?: Lineage;
  readonly runDir?: string;
}

export interface RunHandle {
  readonly id: string;
  /** Buffered: cheap to call every step; rows reach the store in batches (and on finish / flush / process exit). */
  logMetrics(step: number, metrics: Readonly<Record<string, number>>): void;
  /** Queued writes, in order; flush() or finish() reports one that failed. */
  logParams(params: Readonly<Record<string, unknown>>): void;
  logArtifact(name: string, path: string, kind: string): void;
  setLineage(patch: Lineage): void;
  /** Writes the buffered metrics and waits for every queued write; rejects with the first that failed. */
  flush(): Promise<void>;
  /** Flushes, then records the final status and summary. */
  finish(status: Exclude<RunStatus, 'running'>, summary?: Readonly<Record<string, unknown>>): Promise<void>;
}
