// Types shared by the curation pipeline (src/data/*): the normalized record schema that `lorakit train` reads,
// the options of `curate()`, and the report it returns. Interfaces only; code lives beside them by concept.

export type Role = 'system' | 'user' | 'assistant';
export interface ChatMessage { readonly role: Role; readonly content: string }

/** The three record shapes lorakit trains on; train.jsonl / eval.jsonl hold exactly these keys. */
export type TrainRecord =
  | { readonly text: string }
  | { readonly prompt: string; readonly completion: string }
  | { readonly messages: readonly ChatMessage[] };

export type InputFormat = 'auto' | 'jsonl' | 'csv' | 'txt';
/** How a plain-text file becomes records: the whole file, blank-line separated paragraphs, or each line. */
export type TxtUnit = 'file' | 'paragraph' | 'line';

/** Where a record came from, printed as `file:line` (line is 1-based; the first line of a multi-line record). */
export interface SourceLoc { readonly file: string; readonly line: number }

export const rejectReasons = [
  'invalid_utf8', 'bad_json', 'bad_csv', 'not_an_object', 'unknown_schema', 'wrong_type', 'empty_field',
  'bad_role', 'roles_out_of_order', 'too_large', 'empty_after_normalize',
] as const;
export type RejectReason = (typeof rejectReasons)[number];

/** Records (lines) longer than this are rejected from their byte count, unparsed, by curation and training alike. */
export const MAX_RECORD_BYTES = 8 << 20;

export const filterNames = ['min_tokens', 'max_tokens', 'repetition_ngrams', 'repetition_lines', 'char_mix', 'language', 'perplexity'] as const;
export type FilterName = (typeof filterNames)[number];

export const piiKinds = ['email', 'phone', 'credit_card', 'ipv4', 'ipv6', 'secret'] as const;
export type PiiKind = (typeof piiKinds)[number];

/** Quality-filter thresholds; a threshold of undefined / 0 / Infinity (as fits) turns that filter off. */
export interface FilterOptions {
  readonly minTokens?: number;
  readonly maxTokens?: number;
  /** Max fraction of word 3-grams that repeat an earlier 3-gram of the same record (texts with >= 20 3-grams). */
  readonly maxRepeatedNgramFrac?: number;
  /** Max fraction of non-blank lines that duplicate an earlier line of the same record (records with >= 4 lines). */
  readonly maxDupLineFrac?: number;
  /** Min fraction of letters among non-space characters. */
  readonly minAlphaFrac?: number;
  /** Expected language: 'en' checks the English stop-word ratio (records with >= 20 words); 'off' skips. */
  readonly language?: 'en' | 'off';
  readonly minStopwordFrac?: number;
  readonly maxPerplexity?: number;
}

export interface CurateOptions extends FilterOptions {
  /** Files or folders (walked recursively, sorted, hidden entries skipped). */
  readonly inputs: readonly string[];
  readonly outDir: string;
  /** Replace a non-empty outDir that curate did not write (never an input); see util/out-dir.ts. */
  readonly overwrite?: boolean;
  readonly format?: InputFormat;
  readonly txtUnit?: TxtUnit;
  /** Canonical field -> source field, e.g. { text: 'body' } or { prompt: 'question', completion: 'answer' }. */
  readonly fieldMap?: Readonly<Record<string, string>>;
  readonly stripBoilerplate?: boolean;
  readonly redactPii?: boolean;
  /** Jaccard threshold for near-duplicates (0 < t <= 1); 1 disables near-dedup. */
  readonly nearDupThreshold?: number;
  /** Word n-gram size of shingles. */
  readonly shingle?: number;
  readonly numPerm?: number;
  /** Remove near-duplicates (default) or keep them, only keeping each cluster on one side of the split. */
  readonly removeNearDups?: boolean;
  readonly evalFraction?: number;
  readonly seed?: number;
  /** Token counter for the length filters and histograms; default: a words+punctuation heuristic. */
  readonly tokenCounter?: (text: string) => number;
  /** Name of the counter, written to the report (e.g. 'tokenizer:models/qwen'). */
  readonly tokenCounterName?: string;
  /** Perplexity scorer; with maxPerplexity, records scoring above it are removed. */
  readonly perplexity?: (text: string) => Promise<number>;
  /** Records larger than this many bytes are rejected as too_large (default 8 MiB). */
  readonly maxRecordBytes?: number;
  /** Examples kept per rejection reason / filter in the report (default 3). */
  readonly examplesPerReason?: number;
  readonly onProgress?: (p: CurateProgress) => void;
}

export interface CurateProgress {
  readonly phase: 'read' | 'near-dup' | 'write';
  readonly done: number;
  readonly total: number;
  readonly records: number;
}

export interface Histogram {
  /** Bucket i holds values v with edges[i] <= v < edges[i+1] (the last bucket is open-ended). */
  readonly edges: readonly number[];
  readonly counts: readonly number[];
}

export interface ReportExample { readonly loc: string; readonly snippet: string; readonly detail?: string }

export interface CurationReport {
  readonly version: 1;
  readonly inputs: readonly {
    readonly file: string;
    readonly format: Exclude<InputFormat, 'auto'>;
    readonly records: number;
    readonly bytes: number;
  }[];
  readonly skippedFiles: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly tokenCounter: string;
  readonly counts: {
    readonly input: number; readonly kept: number; readonly train: number; readonly eval: number;
    readonly rejected: number; readonly removed: number; readonly exactDuplicates: number; readonly nearDuplicates: number;
  };
  /** input === kept + rejected + removed + exactDuplicates + nearDuplicates (nothing is lost silently). */
  readonly balanced: boolean;
  readonly rejectedByReason: Readonly<Partial<Record<RejectReason, number>>>;
  readonly removedByFilter: Readonly<Partial<Record<FilterName, number>>>;
  readonly pii: { readonly redacted: boolean; readonly recordsWithPii: number; readonly byKind: Readonly<Record<PiiKind, number>> };
  readonly boilerplate: { readonly enabled: boolean; readonly recordsChanged: number; readonly charsRemoved: number };
  readonly nearDup: {
    readonly threshold: number; readonly shingle: number; readonly numPerm: number; readonly bands: number; readonly rows: number;
    readonly candidatePairs: number;
    readonly verifiedPairs: number;
    readonly clusters: number;
    readonly largestCluster: number;
    readonly seconds: number;
  };
  readonly lengths: { readonly valid: Histogram; readonly kept: Histogram };
  readonly examples: {
    readonly rejected: Readonly<Partial<Record<RejectReason, readonly ReportExample[]>>>;
    readonly removed: Readonly<Partial<Record<FilterName | 'exact_dup' | 'near_dup', readonly ReportExample[]>>>;
  };
  readonly timings: {
    readonly readSeconds: number;
    readonly nearDupSeconds: number;
    readonly writeSeconds: number;
    readonly totalSeconds: number;
    readonly recordsPerSecond: number;
  };
  readonly outputs: Readonly<Record<'train' | 'eval' | 'rejects' | 'removed' | 'reportJson' | 'reportMd' | 'reportHtml', string>>;
}
