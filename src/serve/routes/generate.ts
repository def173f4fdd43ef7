// The body of POST /v1/completions and /v1/chat/completions once the prompts are tokens: limits, queue admission,
// one engine sequence per prompt × n, streaming (server-sent events) or one JSON answer, timeout, cancellation
// on disconnect, and the token and latency metrics.
import { randomBytes, randomInt } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Sequence, SequenceResult } from '../engine.js';
import {
  ApiError, type Choice, type CommonParams, chatBody, chatChunk, completionBody, completionChunk, contextLengthExceeded,
  parseCommon, usage, usageChunk,
} from '../openai.js';
import { type Req, pickModel } from '../request.js';
import type { ServeContext } from '../setup.js';

export interface GenerateKind {
  readonly chat: boolean;
  /** The request field the prompts come from ('prompt' or 'messages'), named in errors. */
  readonly field: string;
  /** The prompts of a request, as token ids. */
  prompts(req: Req, body: Record<string, unknown>, p: CommonParams): Promise<number[][]>;
}

/** The route handler: counted in flight for drain(), and refused with 503 (HAProxy retries it elsewhere) unless ready. */
export const generateRoute = (ctx: ServeContext, kind: GenerateKind) => {
  const handle = generate(ctx, kind);
  return async (req: Req, reply: FastifyReply): Promise<unknown> => {
    const { life } = ctx;
    if (!life.ready) throw new ApiError(503, `this replica is ${life.phase}; retry on another replica`, null, 'server_error', { 'retry-after': '1' });
    life.enter();
    try { return await handle(req, reply); } finally { life.leave(); }
  };
};

const generate = (ctx: ServeContext, kind: GenerateKind) => async (req: Req, reply: FastifyReply): Promise<unknown> => {
  const { engine, adapters, metrics, limits } = ctx, { chat, field } = kind, cfg = ctx.checkpoint.config;
  const t0 = performance.now();
  const p = parseCommon(req.body, { maxN: Math.max(1, limits.maxQueue) });
  const entry = await pickModel(ctx, req, p.model);
  const prompts = await kind.prompts(req, req.body as Record<string, unknown>, p);
  for (const ids of prompts) {
    if (ids.length === 0) throw new ApiError(400, `'${field}' encodes to zero tokens`, field);
    if (ids.length > limits.maxPromptTokens) {
      throw contextLengthExceeded(field, `'${field}' has ${ids.length} tokens, above this server's limit of ${limits.maxPromptTokens}`);
    }
    if (ids.some((t) => t >= cfg.vocabSize)) throw new ApiError(400, `'${field}' holds a token id >= the vocabulary size ${cfg.vocabSize}`, field);
  }
  const maxTokens = checkMaxTokens(ctx, p, Math.max(...prompts.map((x) => x.length)), chat);
  const count = prompts.length * p.n;
  if (entry) await adapters!.ensureLoaded(entry);
  // Checked after the await so that the check and the submit below run in one tick.
  if (engine.queueDepth + count > limits.maxQueue) {
    const retry = String(Math.max(1, Math.ceil(engine.queueDepth / Math.max(1, limits.maxBatch))));
    throw new ApiError(
      429,
      `the server queue is full (${engine.queueDepth} waiting, limit ${limits.maxQueue}); retry later`,
      null,
      'rate_limit_error',
      { 'retry-after': retry },
    );
  }
  const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`, created = Math.floor(Date.now() / 1000);
  const stream = p.stream ? openStream(reply) : null;
  const send = (x: unknown): void => { if (stream && !reply.raw.destroyed) reply.raw.write(`data: ${JSON.stringify(x)}\n\n`); };
  const firstSent = new Set<number>();
  const seqs: Sequence[] = [];
  let timer: NodeJS.Timeout | undefined;
  const results = await new Promise<SequenceResult[]>((done) => {
    const out: SequenceResult[] = new Array(count);
    let left = count;
    for (let i = 0; i < count; i++) {
      const ids = prompts[Math.floor(i / p.n)];
      const emit = (text: string, finishReason: string | null): void => {
        if (!stream) return;
        const c: Choice = { index: i, text, finishReason };
        send(chat ? chatChunk(id, created, p.model, c, !firstSent.has(i)) : completionChunk(id, created, p.model, c));
        firstSent.add(i);
      };
      seqs.push(engine.submit({
        promptIds: ids, maxTokens, seed: p.seed !== undefined ? p.seed + (i % p.n) : randomInt(2 ** 31), stop: p.stop, eos: ctx.eos,
        sampling: {
          temperature: p.temperature,
          topP: p.topP,
          topK: p.topK !== undefined && p.topK > 0 ? p.topK : undefined,
          repetitionPenalty: p.repetitionPenalty,
        },
        lease: entry ? adapters!.lease(entry) : undefined, model: entry ? entry.name : p.model,
        onText: stream ? (d) => { if (d) emit(d, null); } : undefined,
        onDone: (r) => {
          out[i] = r;
          if (r.finishReason === 'stop' || r.finishReason === 'length') {
            if (chat && !firstSent.has(i)) emit('', null);
            emit('', r.finishReason);
          }
          if (--left === 0) done(out);
        },
      }));
    }
    timer = setTimeout(() => seqs.forEach((s) => engine.cancel(s, 'timeout')), limits.timeoutMs);
    // A client that goes away cancels its sequences (they leave the batch before the next step).
    reply.raw.on('close', () => { if (!reply.raw.writableFinished) seqs.forEach((s) => engine.cancel(s)); });
  });
  clearTimeout(timer);
  const promptTokens = prompts.reduce((s, x) => s + x.length, 0) * p.n;
  const completionTokens = results.reduce((s, r) => s + r.tokens.length, 0);
  const modelLabel = { model: p.model };
  metrics.promptTokens.inc(modelLabel, promptTokens);
  metrics.completionTokens.inc(modelLabel, completionTokens);
  const ttft = Math.min(...results.map((r) => r.firstTokenMs).filter((x) => x > 0));
  if (Number.isFinite(ttft)) metrics.ttft.observe(ttft / 1000);
  metrics.requestLatency.observe((performance.now() - t0) / 1000, { endpoint: chat ? 'chat' : 'completions' });
  const failed = results.find((r) => r.finishReason === 'error');
  const timedOut = results.some((r) => r.finishReason === 'timeout');
  const u = usage(promptTokens, completionTokens);
  if (stream) {
    if (failed || timedOut) {
      send(
        new ApiError(
          failed ? 500 : 408,
          failed
            ? `generation failed: ${failed.error?.message}`
            : `request timed out after ${limits.timeoutMs / 1000} s`,
        ).body(),
      );
    }
    else if (p.includeUsage) send(usageChunk(id, created, p.model, chat, u));
    if (!reply.raw.destroyed) reply.raw.end('data: [DONE]\n\n');
    if (failed || timedOut) {
      metrics.requests.inc({
        route: chat ? '/v1/chat/completions' : '/v1/completions',
        code: failed ? 'stream_error' : 'stream_timeout',
      });
    }
    return reply;
  }
  if (failed) throw new ApiError(500, `generation failed: ${failed.error?.message}`);
  if (timedOut) throw new ApiError(408, `request timed out after ${limits.timeoutMs / 1000} s (--request-timeout-s)`, null, 'timeout');
  const choices: Choice[] = results.map((r, i) => ({
    index: i,
    text: r.text,
    finishReason: r.finishReason,
    ...(p.returnTokenIds ? { tokenIds: r.tokens, promptTokenIds: [...prompts[Math.floor(i / p.n)]] } : {}),
  }));
  return chat ? chatBody(id, created, p.model, choices, u) : completionBody(id, created, p.model, choices, u);
};

/** max_tokens as asked (or its default), refused when the longest prompt plus it exceeds the context or the window. */
function checkMaxTokens(ctx: ServeContext, p: CommonParams, longest: number, chat: boolean): number {
  const { maxTokens: limit, ctx: context } = ctx.limits, window = ctx.checkpoint.config.slidingWindow;
  if (p.maxTokens !== undefined && p.maxTokens > limit)
    throw new ApiError(400, `'max_tokens' is ${p.maxTokens}, above this server's limit of ${limit}`, 'max_tokens');
  const maxTokens = p.maxTokens ?? Math.min(chat ? limit : 16, context - longest);
  if (longest + maxTokens > context) {
    throw new ApiError(
      400,
      `'max_tokens' ${maxTokens} + ${longest} prompt tokens exceed the model's context of ${context} tokens`,
      'max_tokens',
    );
  }
  if (window && longest + maxTokens > window) {
    throw new ApiError(
      400,
      `'max_tokens' ${maxTokens} + ${longest} prompt tokens exceed the sliding window of ${window} ` +
        '(attention beyond the window is not implemented with the KV cache)',
      'max_tokens',
    );
  }
  return maxTokens;
}

/** Takes over the response for server-sent events (Fastify no longer sends anything for it). */
function openStream(reply: FastifyReply): true {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  return true;
}
