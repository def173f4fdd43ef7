// Types of evaluation suites (what to measure and the promotion gate) and of the reports they produce.
// Suites are written in YAML/JSON with snake_case keys (suite.ts parses them into these camelCase objects);
// reports are JSON with snake_case keys so they read the same in files, the registry and the dashboard.

export type Tag = 'domain' | 'general';
export type TaskType = 'perplexity' | 'generation' | 'choice';
export type MatchKind = 'exact' | 'contains' | 'regex' | 'numeric';
export type BuiltinSource = 'brown-heldout' | 'sotu-heldout' | 'brown-cloze';

/** Where a task's items come from: a file (relative to the suite file), a bundled corpus, or inline items. */
export type SourceSpec =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'builtin'; readonly name: BuiltinSource; readonly items?: number; readonly fromYear?: number; readonly toYear?: number }
  | { readonly kind: 'inline'; readonly items: readonly unknown[] };

interface TaskCommon {
  readonly name: string;
  readonly tag: Tag;
  readonly source: SourceSpec;
  /** Cap on documents / items (the first N, in source order). */
  readonly maxItems: number | null;
  /** Gate this task (false: measured and reported only). */
  readonly gated: boolean;
  /** Overrides the suite's max_general_regression_pct for this (general) task. */
  readonly maxRegressionPct: number | null;
}

export interface PerplexityTask extends TaskCommon {
  readonly type: 'perplexity';
  /** Tokens per window (default: min(512, max_position_embeddings)) and new tokens scored per window (default window/2). */
  readonly window: number | null;
  readonly stride: number | null;
  readonly maxTokensPerDocument: number | null;
  readonly maxTokens: number | null;
  /** The resampling unit of the bootstrap: whole documents, or windows (default for a single .txt file). */
  readonly unit: 'document' | 'window' | null;
}

export interface GenerationTask extends TaskCommon {
  readonly type: 'generation';
  readonly match: MatchKind;
  /** numeric: |answer - expected| <= tolerance. */
  readonly tolerance: number;
  readonly caseSensitive: boolean;
  readonly maxNewTokens: number;
  readonly stop: readonly string[];
  /** Render each prompt as a user turn with the model's chat template. */
  readonly chat: boolean;
}

export interface ChoiceTask extends TaskCommon {
  readonly type: 'choice';
  /** Put between the context and each choice (lm-evaluation-harness's target_delimiter). */
  readonly delimiter: string;
  /** The metric the gate and the headline use. */
  readonly metric: 'acc' | 'acc_norm';
}

export type TaskSpec = PerplexityTask | GenerationTask | ChoiceTask;

export interface GateSpec {
  /** Each gated domain perplexity task must fall by at least this many percent (relative to the base). */
  readonly domainPerplexityDropPct: number;
  /** Each gated domain accuracy task (generation, choice) must gain at least this many percentage points. */
  readonly domainAccuracyGainPts: number;
  /** No gated general task may worsen by more than this: perplexity rise in %, accuracy drop in points. */
  readonly maxGeneralRegressionPct: number;
  /** Each gated domain gain must be real: its paired-bootstrap interval of the change excludes zero on the
   *  improving side (and the task has at least 2 items, so that the interval means something). */
  readonly requireSignificantGain: boolean;
  /** Train/serve parity must hold on every path; a path that could not run fails it. */
  readonly requireParity: boolean;
  /** 'point': judge the point estimates. 'ci': a domain gain must hold at the CI bound least favourable to the
   *  adapter, and a general regression fails only when it holds at the bound most favourable to it. */
  readonly decideOn: 'point' | 'ci';
}

export interface ParitySpec {
  readonly probes: readonly string[];
  readonly maxNewTokens: number;
  /** Max |a - b| over a probe's last-position logits, relative to max |reference|. */
  readonly tolerance: number;
  /** dtype of the merged model written for the merged path ('base': the base's dtype on disk, as `lorakit merge` does). */
  readonly mergedDtype: 'F32' | 'BF16' | 'F16' | 'base';
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  /** The file it came from, or 'bundled:<name>'. */
  readonly origin: string;
  /** Folder that relative source paths are resolved against. */
  readonly baseDir: string;
  readonly seed: number;
  readonly bootstrap: number;
  readonly confidence: number;
  readonly tasks: readonly TaskSpec[];
  readonly gate: GateSpec;
  readonly parity: ParitySpec;
}

// ---------- reports ----------

export interface Estimate { readonly value: number; readonly ci: readonly [number, number] }

export interface TaskResult {
  readonly name: string;
  readonly type: TaskType;
  readonly tag: Tag;
  /** 'perplexity' (lower is better) or 'accuracy' in % (higher is better). */
  readonly metric: 'perplexity' | 'accuracy';
  readonly metric_detail: string;
  readonly items: number;
  readonly scored_tokens: number | null;
  readonly base: Estimate;
  readonly adapter: Estimate | null;
  /** perplexity: relative change in %; accuracy: change in percentage points. */
  readonly delta: (Estimate & { readonly unit: 'pct' | 'pts' }) | null;
  /** How much worse the adapter is (positive = worse): perplexity rise in %, accuracy drop in points. */
  readonly regression: Estimate | null;
  /** Secondary metrics (e.g. acc and acc_norm, nll per token) for base and adapter. */
  readonly extra: Readonly<Record<string, { readonly base: number; readonly adapter: number | null }>>;
  readonly gated: boolean;
  /** This task's own regression limit (overrides the suite's max_general_regression_pct), if any. */
  readonly max_regression_pct: number | null;
}

export interface TagResult {
  readonly tag: Tag;
  readonly metric: 'perplexity' | 'accuracy';
  readonly tasks: readonly string[];
  readonly base: Estimate;
  readonly adapter: Estimate | null;
  readonly delta: (Estimate & { readonly unit: 'pct' | 'pts' }) | null;
}

export interface ParityPathResult {
  readonly name: string;
  readonly description: string;
  /** 'measured': a path expected to differ (a QLoRA adapter merged into float weights); its drift is reported, not gated. */
  readonly status: 'reference' | 'ok' | 'drift' | 'measured' | 'missing' | 'error';
  readonly reason?: string;
  readonly max_abs_logit_diff?: number;
  readonly max_rel_logit_diff?: number;
  readonly tokens_identical?: boolean;
  /**
   * Per probe: relative logit difference and the first position where greedy tokens differ (null: none), or where
   * the path took the reference's runner-up within the near-tie gap (`near_tie`: not a mismatch; compared up to it).
   */
  readonly probes?: readonly {
    readonly probe: number;
    readonly rel_logit_diff: number | null;
    readonly abs_logit_diff: number | null;
    readonly first_token_mismatch: number | null;
    readonly near_tie: number | null;
  }[];
}

export interface ParityReport {
  readonly passed: boolean;
  readonly tolerance: number;
  readonly max_new_tokens: number;
  readonly probes: readonly string[];
  readonly reference: string;
  readonly paths: readonly ParityPathResult[];
}

export interface GateCheck {
  /** domain_coverage: at least one gated domain task with items (a suite without one cannot show a gain). */
  readonly check: 'domain_coverage' | 'domain_perplexity_drop' | 'domain_accuracy_gain' | 'general_regression' | 'parity';
  readonly task: string | null;
  readonly value: number | null;
  readonly limit: number | null;
  readonly passed: boolean;
  readonly message: string;
}

export interface GateResult {
  readonly applied: boolean;
  readonly passed: boolean;
  readonly decide_on: 'point' | 'ci';
  readonly thresholds: {
    readonly domain_perplexity_drop_pct: number;
    readonly domain_accuracy_gain_pts: number;
    readonly max_general_regression_pct: number;
    readonly require_significant_gain: boolean;
    readonly require_parity: boolean;
  };
  readonly checks: readonly GateCheck[];
  /** One line per failed check (empty when passed). */
  readonly reasons: readonly string[];
}

/** What `lorakit eval` writes and the registry stores ({suite, passed} is what alias gating reads). */
export interface EvalReport {
  readonly suite: string;
  readonly passed: boolean;
  readonly schema: 'lorakit.eval/1';
  readonly summary: string;
  readonly suite_origin: string;
  readonly created_at: string;
  readonly model: {
    readonly dir: string; readonly fingerprint: string; readonly architecture: string; readonly parameters: number;
    /** 'none' or the base's quantization label (what the scores were computed with). */
    readonly quantization?: string;
  };
  readonly adapter: {
    readonly dir: string;
    readonly ref: string | null;
    readonly fingerprint: string;
    readonly base_fingerprint: string | null;
  } | null;
  readonly settings: { readonly seed: number; readonly bootstrap: number; readonly confidence: number };
  readonly tasks: readonly TaskResult[];
  readonly tags: readonly TagResult[];
  readonly parity: ParityReport | null;
  readonly gate: GateResult;
  /** Wall-clock seconds (excluded when comparing runs for determinism). */
  readonly timing: { readonly seconds: number; readonly tasks: Readonly<Record<string, number>>; readonly parity: number | null };
}

/** One line of items.jsonl: per-item scores of base and adapter. */
export interface ItemRecord {
  readonly task: string;
  readonly item: number;
  readonly base: Readonly<Record<string, unknown>>;
  readonly adapter: Readonly<Record<string, unknown>> | null;
}
