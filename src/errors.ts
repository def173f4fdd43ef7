// The one error class of lorakit and the registry of its stable codes.
// Tests match on `code`, never on message text; docs/errors.md lists every code (checked by a test).
// This file imports nothing so that every layer can depend on it.

export const errorCodes = {
  // generic
  LK_ARG: 'A CLI flag, option or function argument is missing or out of its allowed range',
  LK_IO: 'A file or folder could not be read or written',
  LK_INTERNAL: 'An invariant of lorakit itself was broken (a bug: please report it)',
  LK_OUT_EXISTS: 'An --out path is a file, or a non-empty folder this verb did not create (pass --overwrite to replace a folder)',
  LK_OUT_IS_INPUT: 'An --out path is, contains or lies inside an input of the same command (never allowed, even with --overwrite)',
  // engine
  LK_SHAPE: 'Tensor shapes do not fit an operation (the message names the op and both shapes)',
  LK_DTYPE: 'A tensor has the wrong element type for an operation or a feed',
  LK_GRAPH: 'A graph was built wrongly: unknown input, foreign tensor, unfed input, bad attribute',
  LK_NO_GRAD_RULE: 'An op on the path from a parameter to the loss has no gradient rule',
  LK_ORT: 'ONNX Runtime refused to create or run a session',
  // models
  LK_SAFETENSORS: 'A safetensors file is truncated, corrupt, or its header lies about offsets, sizes or dtypes',
  LK_CONFIG: 'A model config.json is missing, malformed, or describes an unsupported architecture or option',
  LK_WEIGHTS: 'A checkpoint lacks a tensor the architecture needs, or a tensor has the wrong shape',
  LK_NONFINITE: 'A weight tensor holds NaN or ±Inf (the message names the tensor and the first bad element)',
  LK_TOKENIZER: 'tokenizer.json / tokenizer_config.json cannot be read or a chat template fails to render',
  LK_SEQ_TOO_LONG: 'A sequence is longer than the model or the feature in use supports',
  // lora / training
  LK_LORA_CONFIG: 'A LoRA configuration field is invalid, or target_modules matched nothing',
  LK_ADAPTER: 'An adapter folder is malformed or its tensors do not fit the base model',
  LK_BASE_MISMATCH: 'An adapter is used on a base model other than the one it was trained on',
  LK_DATA_ROW: 'A dataset record is malformed or has the wrong schema (the message names file:line)',
  LK_DATA: 'A dataset as a whole cannot be used (empty, all rows invalid, unreadable)',
  LK_TRAIN_CONFIG: 'A training configuration (flags or config file) is invalid or has unknown keys',
  LK_CHECKPOINT: 'A training checkpoint is missing, corrupt or does not belong to this run',
  // registry / tracking
  LK_REGISTRY: 'The registry store is unreadable or a registry operation is not allowed',
  LK_NOT_FOUND: 'A named model, adapter, version, alias or run does not exist',
  LK_CONFLICT: 'An operation conflicts with the current state (e.g. deleting a version an alias points at)',
  LK_CORRUPT: 'A stored blob no longer matches its content hash',
  LK_GATE: 'An adapter has no passing evaluation report for what the operation requires',
  // serving
  LK_SERVE: 'The server cannot start or cannot serve a model or adapter',
  LK_EVAL: 'An evaluation suite is invalid or cannot be run',
  LK_QUANT: 'A tensor cannot be quantized with the chosen scheme, or a quantization option is invalid',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface LorakitErrorOptions {
  /** A short hint on how to fix the problem, printed after the message. */
  readonly hint?: string;
  /** Structured context (file, line, tensor, expected, actual) for --json output. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class LorakitError extends Error {
  override readonly name = 'LorakitError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: LorakitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}), details: this.details };
  }
}

export function isLorakitError(e: unknown, code?: ErrorCode): e is LorakitError {
  return e instanceof LorakitError && (code === undefined || e.code === code);
}
