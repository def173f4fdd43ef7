// The one error class of lorakit and the registry of its stable codes, each with the HTTP status the server
// answers it with (400: the request or the adapter it names is at fault; 500: the server is).
// Tests match on `code`, never on message text; docs/errors.md lists every code and status (checked by a test).
// This file imports nothing so that every layer can depend on it.

export interface ErrorCodeInfo {
  /** The status of a server response that carries this error. */
  readonly http: 400 | 404 | 409 | 500;
  readonly meaning: string;
}

export const errorCodes = {
  // generic
  LK_ARG: { http: 400, meaning: 'A CLI flag, option or function argument is missing or out of its allowed range' },
  LK_IO: { http: 400, meaning: 'A file or folder could not be read or written' },
  LK_INTERNAL: { http: 500, meaning: 'An invariant of lorakit itself was broken (a bug: please report it)' },
  LK_OUT_EXISTS: {
    http: 500,
    meaning:
      'An --out path is a file, or a non-empty folder this verb did not create (pass --overwrite to replace a folder)',
  },
  LK_OUT_IS_INPUT: {
    http: 500,
    meaning:
      'An --out path is, contains or lies inside an input of the same command (never allowed, even with --overwrite)',
  },
  // engine
  LK_SHAPE: { http: 500, meaning: 'Tensor shapes do not fit an operation (the message names the op and both shapes)' },
  LK_DTYPE: { http: 500, meaning: 'A tensor has the wrong element type for an operation or a feed' },
  LK_GRAPH: { http: 500, meaning: 'A graph was built wrongly: unknown input, foreign tensor, unfed input, bad attribute' },
  LK_NO_GRAD_RULE: { http: 500, meaning: 'An op on the path from a parameter to the loss has no gradient rule' },
  LK_ORT: { http: 500, meaning: 'ONNX Runtime refused to create or run a session' },
  // models
  LK_SAFETENSORS: { http: 500, meaning: 'A safetensors file is truncated, corrupt, or its header lies about offsets, sizes or dtypes' },
  LK_CONFIG: { http: 500, meaning: 'A model config.json is missing, malformed, or describes an unsupported architecture or option' },
  LK_WEIGHTS: { http: 500, meaning: 'A checkpoint lacks a tensor the architecture needs, or a tensor has the wrong shape' },
  LK_NONFINITE: { http: 500, meaning: 'A weight tensor holds NaN or ±Inf (the message names the tensor and the first bad element)' },
  LK_TOKENIZER: { http: 500, meaning: 'tokenizer.json / tokenizer_config.json cannot be read or a chat template fails to render' },
  LK_SEQ_TOO_LONG: { http: 500, meaning: 'A sequence is longer than the model or the feature in use supports' },
  // lora / training
  LK_LORA_CONFIG: { http: 400, meaning: 'A LoRA configuration field is invalid, or target_modules matched nothing' },
  LK_ADAPTER: { http: 400, meaning: 'An adapter folder is malformed or its tensors do not fit the base model' },
  LK_BASE_MISMATCH: { http: 400, meaning: 'An adapter is used on a base model other than the one it was trained on' },
  LK_DATA_ROW: { http: 500, meaning: 'A dataset record is malformed or has the wrong schema (the message names file:line)' },
  LK_DATA: { http: 500, meaning: 'A dataset as a whole cannot be used (empty, all rows invalid, unreadable)' },
  LK_TRAIN_CONFIG: { http: 500, meaning: 'A training configuration (flags or config file) is invalid or has unknown keys' },
  LK_CHECKPOINT: { http: 500, meaning: 'A training checkpoint is missing, corrupt or does not belong to this run' },
  // registry / tracking
  LK_REGISTRY: { http: 500, meaning: 'The registry store is unreadable or a registry operation is not allowed' },
  LK_NOT_FOUND: { http: 404, meaning: 'A named model, adapter, version, alias or run does not exist' },
  LK_CONFLICT: { http: 409, meaning: 'An operation conflicts with the current state (e.g. deleting a version an alias points at)' },
  LK_CORRUPT: { http: 500, meaning: 'A stored blob no longer matches its content hash' },
  LK_GATE: { http: 500, meaning: 'An adapter has no passing evaluation report for what the operation requires' },
  // serving
  LK_SERVE: { http: 500, meaning: 'The server cannot start or cannot serve a model or adapter' },
  LK_EVAL: { http: 500, meaning: 'An evaluation suite is invalid or cannot be run' },
  LK_QUANT: { http: 500, meaning: 'A tensor cannot be quantized with the chosen scheme, or a quantization option is invalid' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof errorCodes;

/** The HTTP status for an error code (src/serve answers a LorakitError with it). */
export function httpStatus(code: ErrorCode): ErrorCodeInfo['http'] {
  return errorCodes[code].http;
}

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
