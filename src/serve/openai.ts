// OpenAI request validation (every error names its field, as the OpenAI API's `param` does) and response
// shapes for /v1/completions and /v1/chat/completions, streamed or not. No model code here.
import type { ChatMessage } from '../models/tokenizer.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type = status === 429
      ? 'rate_limit_error'
      : status === 401
        ? 'authentication_error'
        : status === 403
          ? 'permission_error'
          : status === 404
            ? 'not_found_error'
            : status >= 500
              ? 'server_error'
              : 'invalid_request_error',
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
  /** OpenAI's error `code` (e.g. 'context_length_exceeded'); 404s say 'model_not_found'. */
  code: string | null = null;
  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    const code = this.code ?? (this.status === 404 ? 'model_not_found' : null);
    return { error: { message: this.message, type: this.type, param: this.param, code } };
  }
}

/** 400 for a prompt that cannot fit the context, with OpenAI's code for it. */
export function contextLengthExceeded(param: string, message: string): ApiError {
  const e = new ApiError(400, message, param);
  e.code = 'context_length_exceeded';
  return e;
}

export interface CommonParams {
  readonly model: string;
  readonly maxTokens?: number;
  readonly temperature: number;
  readonly topP: number;
  readonly topK?: number;
  readonly repetitionPenalty?: number;
  readonly seed?: number;
  readonly n: number;
  readonly stop: string[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** vLLM's return_token_ids: choices carry token_ids (and prompt_token_ids). */
  readonly returnTokenIds: boolean;
}

type Body = Record<string, unknown>;
const bad = (param: string, msg: string): ApiError => new ApiError(400, `'${param}' ${msg}`, param);

function num(b: Body, k: string, lo: number, hi: number, int = false): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v)))
    throw bad(k, `must be ${int ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`);
  if (v < lo || v > hi) throw bad(k, `must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

export function parseCommon(raw: unknown, limits: { maxN: number }): CommonParams {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ApiError(400, 'the request body must be a JSON object', null);
  const b = raw as Body;
  if (typeof b.model !== 'string' || b.model.length === 0)
    throw bad('model', 'is required: the base model name or an adapter name (see GET /v1/models)');
  let stop: string[] = [];
  if (typeof b.stop === 'string') stop = [b.stop];
  else if (Array.isArray(b.stop)) stop = b.stop as string[];
  else if (b.stop !== undefined && b.stop !== null) throw bad('stop', 'must be a string or a list of strings');
  if (stop.some((s) => typeof s !== 'string' || s.length === 0)) throw bad('stop', 'must hold non-empty strings');
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') throw bad('stream', 'must be true or false');
  if (b.logprobs !== undefined && b.logprobs !== null && b.logprobs !== false) throw bad('logprobs', 'is not supported by this server');
  if (b.best_of !== undefined && b.best_of !== null && b.best_of !== 1) throw bad('best_of', 'is not supported by this server (only 1)');
  const so = b.stream_options as Body | undefined | null;
  const badIncludeUsage = so?.include_usage !== undefined && typeof so?.include_usage !== 'boolean';
  if (so !== undefined && so !== null && (typeof so !== 'object' || badIncludeUsage)) {
    throw bad('stream_options', 'must be {"include_usage": true|false}');
  }
  const maxTokens = num(b, 'max_completion_tokens', 1, 1e9, true) ?? num(b, 'max_tokens', 1, 1e9, true);
  return {
    model: b.model, maxTokens, temperature: num(b, 'temperature', 0, 2) ?? 1, topP: num(b, 'top_p', 0, 1) ?? 1,
    topK: num(b, 'top_k', -1, 1e9, true), repetitionPenalty: num(b, 'repetition_penalty', 0.01, 100), seed: num(b, 'seed', -(2 ** 53), 2 ** 53, true),
    n: num(b, 'n', 1, limits.maxN, true) ?? 1, stop, stream: b.stream === true, includeUsage: so?.include_usage === true,
    returnTokenIds: b.return_token_ids === true,
  };
}

/** prompt: a string, a list of strings, a list of token ids, or a list of lists of token ids. */
export function parsePrompt(b: Body): (string | number[])[] {
  const p = b.prompt;
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t) && t >= 0);
  if (typeof p === 'string') return [p];
  if (isIds(p)) return [p];
  if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string' || isIds(x))) return p as (string | number[])[];
  throw bad('prompt', 'is required: a string, a list of strings or a list of token ids');
}

export function parseMessages(b: Body): ChatMessage[] {
  const m = b.messages;
  if (!Array.isArray(m) || m.length === 0) throw bad('messages', 'is required: a non-empty list of {role, content}');
  return m.map((x: Body, i) => {
    if (!x || typeof x !== 'object') throw bad(`messages[${i}]`, 'must be an object {role, content}');
    if (typeof x.role !== 'string' || !x.role) throw bad(`messages[${i}].role`, 'must be a non-empty string');
    let content: string;
    if (typeof x.content === 'string') content = x.content;
    else if (x.content === null && x.role === 'assistant') content = '';
    else if (Array.isArray(x.content) && x.content.every((c: Body) => c && c.type === 'text' && typeof c.text === 'string')) {
      content = x.content.map((c: Body) => c.text as string).join('');
    } else {
      throw bad(`messages[${i}].content`, 'must be a string or a list of {"type": "text", "text": ...} parts');
    }
    return { role: x.role, content };
  });
}

export interface Choice { index: number; text: string; finishReason: string | null; tokenIds?: number[]; promptTokenIds?: number[] }
const ids = (c: Choice): Record<string, unknown> => (c.tokenIds ? { token_ids: c.tokenIds, prompt_token_ids: c.promptTokenIds } : {});
export interface Usage { prompt_tokens: number; completion_tokens: number; total_tokens: number }

export const usage = (p: number, c: number): Usage => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });

export function completionBody(id: string, created: number, model: string, choices: Choice[], u: Usage): unknown {
  return {
    id,
    object: 'text_completion',
    created,
    model,
    choices: choices.map((c) => ({
      index: c.index,
      text: c.text,
      logprobs: null,
      finish_reason: c.finishReason,
      ...ids(c),
    })),
    usage: u,
  };
}

export function chatBody(id: string, created: number, model: string, choices: Choice[], u: Usage): unknown {
  return {
    id, object: 'chat.completion', created, model,
    choices: choices.map((c) => ({
      index: c.index, message: { role: 'assistant', content: c.text }, logprobs: null, finish_reason: c.finishReason, ...ids(c),
    })),
    usage: u,
  };
}

export function completionChunk(id: string, created: number, model: string, c: Choice): unknown {
  return {
    id,
    object: 'text_completion',
    created,
    model,
    choices: [{ index: c.index, text: c.text, logprobs: null, finish_reason: c.finishReason }],
  };
}

export function chatChunk(id: string, created: number, model: string, c: Choice, first: boolean): unknown {
  const delta = first ? { role: 'assistant', content: c.text } : c.finishReason ? {} : { content: c.text };
  return { id, object: 'chat.completion.chunk', created, model, choices: [{ index: c.index, delta, logprobs: null, finish_reason: c.finishReason }] };
}

export function usageChunk(id: string, created: number, model: string, chat: boolean, u: Usage): unknown {
  return { id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [], usage: u };
}
