// The OpenAI-compatible HTTP server (Fastify): one base model in memory, adapters chosen per request by the
// `model` field and batched together by the engine. vLLM's adapter endpoints (load/unload), residency in
// /v1/models, Prometheus /metrics, tenants by API key, a bounded queue, per-request timeouts, cancellation on
// disconnect. Tested in-process with inject and with the openai client on a real port.
import { randomBytes, randomInt } from 'node:crypto';
import { basename, resolve as resolvePath } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { LorakitError, isLorakitError } from '../errors.js';
import { CausalLM } from '../models/causal-lm.js';
import { type Checkpoint, loadCheckpoint } from '../models/checkpoint.js';
import type { QuantOptions } from '../models/quant/scheme.js';
import { fingerprintModelDir } from '../models/fingerprint.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { loadAdapterFor } from '../lora/load.js';
import { mergeAdapterWeights } from '../lora/merge.js';
import { MultiLoraSlots } from '../lora/multi.js';
import type { Registry } from '../registry/index.js';
import { AdapterManager, type AdapterEntry } from './adapters.js';
import { Auth, type Tenant, loadApiKeys } from './auth.js';
import { Lifecycle } from './lifecycle.js';
import { BatchEngine, type Sequence, type SequenceResult } from './engine.js';
import { ServeMetrics } from './metrics.js';
import {
  ApiError, type Choice, type CommonParams, chatBody, chatChunk, completionBody, completionChunk, contextLengthExceeded, parseCommon, parseMessages,
  parsePrompt, usage, usageChunk,
} from './openai.js';
import { TokenizeWorker, maxBytesPerToken } from './tokenize.js';

export interface ServeOptions {
  /** HF model folder, or an already loaded checkpoint. */
  readonly model: string | Checkpoint;
  /** Quantize the base while loading (when `model` is a folder). */
  readonly quantize?: QuantOptions;
  /** Adapters served by name (name → PEFT folder); loaded on first use unless `preload`. */
  readonly adapters?: Readonly<Record<string, string>>;
  /** Resolve unknown model names as registry references (name, name@v3, name@alias). */
  readonly registry?: Registry;
  /** Seconds before a served 'name@alias' is checked again in the registry (default 5; see AdapterManagerOptions). */
  readonly aliasTtlS?: number;
  readonly maxLoras?: number;
  readonly maxLoraRank?: number;
  readonly maxBatch?: number;
  readonly maxQueue?: number;
  /** Upper bound on max_tokens (default: the model's context). */
  readonly maxTokensLimit?: number;
  readonly maxPromptTokens?: number;
  /** Request bodies above this get 413 before they are read whole (default: 3 × the largest prompt that can fit
   *  in bytes (room for JSON escapes) + 64 KiB, at least 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Prompts longer than this (bytes) are tokenized in a worker thread, off the event loop (default 8192). */
  readonly tokenizeInlineMaxBytes?: number;
  /** With API keys on, /metrics needs an admin key or this key; with keys off, this key alone (if given). */
  readonly metricsKey?: string;
  readonly requestTimeoutS?: number;
  /** API keys file path, or tenants directly. */
  readonly apiKeys?: string | readonly Tenant[];
  /** Merge this adapter (name in `adapters`) into the weights and serve only it, with no LoRA overhead. */
  readonly merged?: string;
  readonly servedModelName?: string;
  readonly preload?: boolean;
  readonly threads?: number;
  /** Bake the base weights into the decode graph (CausalLM bakeDecodeWeights). */
  readonly bakeWeights?: boolean;
  readonly logger?: boolean;
}

export interface ServerState {
  readonly engine: BatchEngine;
  readonly adapters: AdapterManager | null;
  readonly metrics: ServeMetrics;
  readonly baseName: string;
  readonly checkpoint: Checkpoint;
  /** starting / ready / draining, and the generation requests in flight (see GET /ready and drain()). */
  readonly life: Lifecycle;
  /** Graceful stop: /ready turns 503, new work is refused with 503, in-flight requests finish (up to
   *  `timeoutMs`), then the server closes. Resolves whether everything in flight finished in time. */
  drain(timeoutMs: number): Promise<boolean>;
}

export type LorakitServer = FastifyInstance & { readonly lorakit: ServerState };

type Req = FastifyRequest & { tenant?: Tenant };

export async function createServer(opts: ServeOptions): Promise<LorakitServer> {
  const ckpt = typeof opts.model === 'string' ? await loadCheckpoint(opts.model, { tokenizer: true, quantize: opts.quantize }) : opts.model;
  const tok = ckpt.tokenizer;
  if (!tok) throw new LorakitError('LK_SERVE', `'${ckpt.dir}' has no tokenizer.json; the server needs one to read prompts`);
  const cfg = ckpt.config;
  const baseName = opts.servedModelName ?? basename(resolvePath(ckpt.dir));
  const maxLoras = opts.maxLoras ?? 8, maxLoraRank = opts.maxLoraRank ?? 64, maxBatch = opts.maxBatch ?? 16, maxQueue = opts.maxQueue ?? 64;
  const ctx = cfg.maxPositionEmbeddings;
  const maxTokensLimit = Math.min(opts.maxTokensLimit ?? ctx, ctx - 1);
  const maxPromptTokens = Math.min(opts.maxPromptTokens ?? ctx - 1, ctx - 1);
  const timeoutMs = (opts.requestTimeoutS ?? 600) * 1000;
  // Byte cap before tokenizing (issue 13): a prompt of more than maxPromptTokens × (max bytes per token) bytes
  // cannot fit, so it is refused without being tokenized; the body limit follows from it.
  const bytesPerToken = maxBytesPerToken(tok);
  const maxPromptBytes = maxPromptTokens * bytesPerToken;
  const bodyLimit = opts.maxBodyBytes ?? Math.max(1 << 20, 3 * maxPromptBytes + (64 << 10));
  const inlineMaxBytes = opts.tokenizeInlineMaxBytes ?? 8192;
  const tokWorker = new TokenizeWorker(ckpt.dir);
  if (opts.metricsKey !== undefined && opts.metricsKey.length < 8) throw new LorakitError('LK_ARG', "'--metrics-key' must be at least 8 characters");
  const auth = new Auth(opts.apiKeys === undefined ? null : typeof opts.apiKeys === 'string' ? loadApiKeys(opts.apiKeys) : opts.apiKeys);
  const metrics = new ServeMetrics();
  const eos = new Set(ckpt.generationConfig.eosTokenIds.length ? ckpt.generationConfig.eosTokenIds : tok.eosTokenIds);
  let fp: Promise<string> | undefined;
  const baseFingerprint = (): Promise<string> => (fp ??= fingerprintModelDir(ckpt.dir).then((f) => f.fingerprint));

  let lm = new CausalLM(cfg, ckpt.weights, ckpt.shapes, { threads: opts.threads, bakeDecodeWeights: opts.bakeWeights, quant: ckpt.quant });
  let adapters: AdapterManager | null = null;
  let slots: MultiLoraSlots | undefined;
  let mergedName: string | null = null;
  if (opts.adapters?.[baseName] !== undefined) throw new LorakitError('LK_ARG', `adapter name '${baseName}' is the base model's name; choose another name or set --served-model-name`);
  if (opts.merged) {
    const others = Object.keys(opts.adapters ?? {}).filter((n) => n !== opts.merged);
    if (others.length) throw new LorakitError('LK_ARG', `--merged '${opts.merged}' serves that one adapter only; remove --adapter ${others.join(', ')} (or drop --merged to batch them all)`);
    if (ckpt.quant) throw new LorakitError('LK_ARG', `--merged cannot be combined with a quantized base (${ckpt.quantization}): merging needs float weights; serve the adapter unmerged`);
    const dir = opts.adapters?.[opts.merged];
    if (!dir) throw new LorakitError('LK_ARG', `--merged '${opts.merged}' names no adapter given with --adapter NAME=DIR`);
    const a = await loadAdapterFor(ckpt, dir);
    const merged = await mergeAdapterWeights(ckpt.weights, a);
    lm = new CausalLM(cfg, new Map([...ckpt.weights, ...merged]), ckpt.shapes, { threads: opts.threads, bakeDecodeWeights: opts.bakeWeights });
    mergedName = opts.merged;
  } else {
    slots = new MultiLoraSlots(maxLoras + 1);
    adapters = new AdapterManager(ckpt, slots, {
      maxRank: maxLoraRank, baseFingerprint, metrics, registry: opts.registry, aliasTtlS: opts.aliasTtlS, baseNames: [baseName],
    });
    for (const [name, dir] of Object.entries(opts.adapters ?? {})) await adapters.register(name, dir, { preload: opts.preload });
  }
  const engine = new BatchEngine(lm, {
    maxBatch, slots, threads: opts.threads, decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }),
    hooks: { onStep: (kind, _rows, ms) => metrics.stepLatency.observe(ms / 1000, { kind }) },
  });
  await engine.warmup();
  engine.onStep((s) => { if (s.kind === 'decode') metrics.modelsPerStep.observe(new Set(s.models).size); });
  metrics.queueDepth.set(() => engine.queueDepth);
  metrics.runningBatch.set(() => engine.batchSize);

  const app = Fastify({ logger: opts.logger ?? false, bodyLimit });
  const life = new Lifecycle();
  const drain = async (timeoutMs: number): Promise<boolean> => {
    const finished = await life.drain(timeoutMs);
    await app.close();
    return finished;
  };
  const state: ServerState = { engine, adapters, metrics, baseName, checkpoint: ckpt, life, drain };
  app.decorate('lorakit', state);
  app.addHook('onReady', async () => { if (life.phase === 'starting') life.phase = 'ready'; });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).headers(err.headers).send(err.body());
    if (isLorakitError(err)) {
      const status = err.code === 'LK_NOT_FOUND' ? 404 : err.code === 'LK_CONFLICT' ? 409 : ['LK_ADAPTER', 'LK_LORA_CONFIG', 'LK_BASE_MISMATCH', 'LK_ARG', 'LK_IO'].includes(err.code) ? 400 : 500;
      return reply.code(status).send({ error: { message: err.message, type: status < 500 ? 'invalid_request_error' : 'server_error', param: null, code: err.code } });
    }
    const e = err as { statusCode?: number; message: string };
    if (e.statusCode === 413) {
      const msg = `the request body is larger than this server's limit of ${bodyLimit} bytes (--max-body-bytes); ` +
        `a prompt cannot be longer than ${maxPromptBytes} bytes here (${maxPromptTokens} tokens × up to ${bytesPerToken} bytes per token)`;
      return reply.code(413).send({ error: { message: msg, type: 'invalid_request_error', param: null, code: 'request_too_large' } });
    }
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    return reply.code(status).send({ error: { message: status === 500 ? `internal error: ${e.message}` : e.message, type: status < 500 ? 'invalid_request_error' : 'server_error', param: null, code: null } });
  });
  app.addHook('onResponse', async (req, reply) => { metrics.requests.inc({ route: req.routeOptions.url ?? 'unknown', code: String(reply.statusCode) }); });
  app.addHook('onClose', async () => {
    for (const s of [...engine.waiting, ...engine.running]) engine.cancel(s);
    await engine.idle;
    await tokWorker.close();
  });

  const authenticate = async (req: Req): Promise<void> => {
    const t = auth.tenant(req.headers.authorization);
    if (!t) throw new ApiError(401, 'missing or invalid API key (send Authorization: Bearer <key>)', null);
    req.tenant = t;
  };

  /** Tokens of a prompt: refused by its bytes first (no tokenizing), and tokenized in the worker when large. */
  const encodeText = async (text: string, field: string, addSpecialTokens: boolean): Promise<number[]> => {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxPromptBytes) {
      throw contextLengthExceeded(field, `'${field}' is ${bytes} bytes; it cannot fit this server's limit of ${maxPromptTokens} tokens ` +
        `(at most ${bytesPerToken} bytes per token with this tokenizer, so at most ${maxPromptBytes} bytes)`);
    }
    return bytes <= inlineMaxBytes ? tok.encode(text, { addSpecialTokens }) : tokWorker.encode(text, addSpecialTokens);
  };

  /** The adapter for a model name, after the tenant check (403 says nothing about existence). */
  const pickModel = async (req: Req, model: string): Promise<AdapterEntry | null> => {
    if (mergedName !== null) {
      if (model === mergedName) return null;
      throw new ApiError(404, `model '${model}' does not exist; this server serves only '${mergedName}' (merged)`, 'model');
    }
    if (model === baseName) return null;
    if (!Auth.mayUse(req.tenant!, model)) throw new ApiError(403, `this API key may not use model '${model}'`, 'model');
    const e = await adapters!.resolve(model);
    if (!e) throw new ApiError(404, `model '${model}' does not exist (see GET /v1/models)`, 'model');
    return e;
  };

  // readiness for load balancers (HAProxy option httpchk, a Kubernetes readinessProbe); /health stays liveness
  app.get('/ready', async (_req, reply) => reply.code(life.ready ? 200 : 503).send({ ready: life.ready, phase: life.phase, in_flight: life.inFlight }));
  app.get('/health', async () => ({ status: 'ok', model: baseName, running: engine.batchSize, waiting: engine.queueDepth }));
  // /metrics names every adapter and its token counts: with API keys on it needs an admin key or the metrics key;
  // with keys off it is open unless a metrics key is set (then only that key). /health stays open for probes.
  app.get('/metrics', async (req, reply) => {
    if (auth.enabled || opts.metricsKey !== undefined) {
      const byMetricsKey = opts.metricsKey !== undefined && Auth.bearerIs(req.headers.authorization, opts.metricsKey);
      const t = byMetricsKey || !auth.enabled ? null : auth.tenant(req.headers.authorization);
      if (!byMetricsKey && !t) throw new ApiError(401, 'GET /metrics needs an admin API key or the --metrics-key (send Authorization: Bearer <key>)');
      if (!byMetricsKey && !t!.admin) {
        throw new ApiError(403, "this API key may not read /metrics (it shows every tenant's adapters); use an admin key or the --metrics-key");
      }
    }
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render());
  });

  app.get('/v1/models', { preHandler: authenticate }, async (req: Req) => {
    const created = Math.floor(Date.now() / 1000);
    // Only admins see server paths; a tenant gets the model's name, or the registry reference it was resolved from.
    const admin = req.tenant!.admin;
    const root = admin ? resolvePath(ckpt.dir) : mergedName ?? baseName;
    const rootOf = (e: AdapterEntry): string => (admin ? e.root : e.root.startsWith('registry:') ? e.root.slice('registry:'.length) : e.name);
    if (mergedName !== null) {
      return { object: 'list', data: [{ id: mergedName, object: 'model', created, owned_by: 'lorakit', root, parent: null, max_model_len: ctx, merged: true, resident: true }] };
    }
    const data: unknown[] = [{ id: baseName, object: 'model', created, owned_by: 'lorakit', root, parent: null, max_model_len: ctx }];
    for (const e of adapters!.list()) {
      if (!Auth.mayUse(req.tenant!, e.name)) continue;
      data.push({
        id: e.name, object: 'model', created, owned_by: 'lorakit', root: rootOf(e), parent: baseName, max_model_len: ctx, resident: e.slot !== null,
        loaded: e.loaded, slot: e.slot, rank: e.rank, load_ms: e.loadMs ?? null, in_use: e.pins,
      });
    }
    return { object: 'list', data };
  });

  app.post('/v1/load_lora_adapter', { preHandler: authenticate }, async (req: Req) => {
    if (!req.tenant!.admin) throw new ApiError(403, 'this API key may not load adapters', null);
    if (!adapters) throw new ApiError(400, 'this server runs in merged mode; it serves no other adapters', null);
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.lora_name !== 'string' || !b.lora_name) throw new ApiError(400, "'lora_name' is required", 'lora_name');
    if (typeof b.lora_path !== 'string' || !b.lora_path) throw new ApiError(400, "'lora_path' is required", 'lora_path');
    if (b.lora_name === baseName) throw new ApiError(400, `'lora_name' '${b.lora_name}' is the base model's name`, 'lora_name');
    const e = await adapters.register(b.lora_name, b.lora_path, { preload: true });
    await engine.warmup(); // compile now if the adapter added target modules, so its first request is not slow
    return { status: 'ok', name: e.name, rank: e.rank, load_ms: e.loadMs ?? null, message: `Success: LoRA adapter '${e.name}' added successfully.` };
  });

  app.post('/v1/unload_lora_adapter', { preHandler: authenticate }, async (req: Req) => {
    if (!req.tenant!.admin) throw new ApiError(403, 'this API key may not unload adapters', null);
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.lora_name !== 'string' || !b.lora_name) throw new ApiError(400, "'lora_name' is required", 'lora_name');
    if (!adapters?.unload(b.lora_name)) throw new ApiError(404, `no adapter named '${b.lora_name}' is loaded`, 'lora_name');
    return { status: 'ok', message: `Success: LoRA adapter '${b.lora_name}' removed successfully.` };
  });

  // counts the request in flight for drain(); refused with 503 (retried elsewhere by HAProxy) once draining
  const tracked = (h: (req: Req, reply: FastifyReply) => Promise<unknown>) => async (req: Req, reply: FastifyReply): Promise<unknown> => {
    if (!life.ready) throw new ApiError(503, `this replica is ${life.phase}; retry on another replica`, null, 'server_error', { 'retry-after': '1' });
    life.enter();
    try { return await h(req, reply); } finally { life.leave(); }
  };

  const generateRoute = (chat: boolean) => tracked(async (req: Req, reply: FastifyReply): Promise<unknown> => {
    const t0 = performance.now();
    const p = parseCommon(req.body, { maxN: Math.max(1, maxQueue) });
    const body = req.body as Record<string, unknown>;
    const entry = await pickModel(req, p.model);
    const field = chat ? 'messages' : 'prompt';
    const prompts: number[][] = [];
    if (chat) prompts.push(await encodeText(renderChat(tok, parseMessages(body), p), field, false));
    else for (const x of parsePrompt(body)) prompts.push(typeof x === 'string' ? await encodeText(x, field, true) : x);
    for (const ids of prompts) {
      if (ids.length === 0) throw new ApiError(400, `'${field}' encodes to zero tokens`, field);
      if (ids.length > maxPromptTokens) {
        throw contextLengthExceeded(field, `'${field}' has ${ids.length} tokens, above this server's limit of ${maxPromptTokens}`);
      }
      if (ids.some((t) => t >= cfg.vocabSize)) throw new ApiError(400, `'${field}' holds a token id >= the vocabulary size ${cfg.vocabSize}`, field);
    }
    const longest = Math.max(...prompts.map((x) => x.length));
    if (p.maxTokens !== undefined && p.maxTokens > maxTokensLimit) throw new ApiError(400, `'max_tokens' is ${p.maxTokens}, above this server's limit of ${maxTokensLimit}`, 'max_tokens');
    const maxTokens = p.maxTokens ?? Math.min(chat ? maxTokensLimit : 16, ctx - longest);
    if (longest + maxTokens > ctx) throw new ApiError(400, `'max_tokens' ${maxTokens} + ${longest} prompt tokens exceed the model's context of ${ctx} tokens`, 'max_tokens');
    if (cfg.slidingWindow && longest + maxTokens > cfg.slidingWindow) throw new ApiError(400, `'max_tokens' ${maxTokens} + ${longest} prompt tokens exceed the sliding window of ${cfg.slidingWindow} (attention beyond the window is not implemented with the KV cache)`, 'max_tokens');
    const count = prompts.length * p.n;
    if (entry) await adapters!.ensureLoaded(entry);
    // Checked after the await so that the check and the submit below run in one tick.
    if (engine.queueDepth + count > maxQueue) {
      throw new ApiError(429, `the server queue is full (${engine.queueDepth} waiting, limit ${maxQueue}); retry later`, null, 'rate_limit_error', { 'retry-after': String(Math.max(1, Math.ceil(engine.queueDepth / Math.max(1, maxBatch)))) });
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
          promptIds: ids, maxTokens, seed: p.seed !== undefined ? p.seed + (i % p.n) : randomInt(2 ** 31), stop: p.stop, eos,
          sampling: { temperature: p.temperature, topP: p.topP, topK: p.topK !== undefined && p.topK > 0 ? p.topK : undefined, repetitionPenalty: p.repetitionPenalty },
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
      timer = setTimeout(() => seqs.forEach((s) => engine.cancel(s, 'timeout')), timeoutMs);
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
      if (failed || timedOut) send(new ApiError(failed ? 500 : 408, failed ? `generation failed: ${failed.error?.message}` : `request timed out after ${timeoutMs / 1000} s`).body());
      else if (p.includeUsage) send(usageChunk(id, created, p.model, chat, u));
      if (!reply.raw.destroyed) reply.raw.end('data: [DONE]\n\n');
      if (failed || timedOut) metrics.requests.inc({ route: chat ? '/v1/chat/completions' : '/v1/completions', code: failed ? 'stream_error' : 'stream_timeout' });
      return reply;
    }
    if (failed) throw new ApiError(500, `generation failed: ${failed.error?.message}`);
    if (timedOut) throw new ApiError(408, `request timed out after ${timeoutMs / 1000} s (--request-timeout-s)`, null, 'timeout');
    const choices: Choice[] = results.map((r, i) => ({ index: i, text: r.text, finishReason: r.finishReason, ...(p.returnTokenIds ? { tokenIds: r.tokens, promptTokenIds: [...prompts[Math.floor(i / p.n)]] } : {}) }));
    return chat ? chatBody(id, created, p.model, choices, u) : completionBody(id, created, p.model, choices, u);
  });

  app.post('/v1/completions', { preHandler: authenticate }, generateRoute(false));
  app.post('/v1/chat/completions', { preHandler: authenticate }, generateRoute(true));
  return app as unknown as LorakitServer;
}

/** The chat template applied to `messages` (the caller tokenizes it without adding special tokens again). */
function renderChat(tok: Tokenizer, messages: ReturnType<typeof parseMessages>, _p: CommonParams): string {
  try {
    return tok.applyChatTemplate(messages, { addGenerationPrompt: true });
  } catch (e) {
    throw new ApiError(400, `'messages' cannot be rendered with the model's chat template: ${(e as Error).message}`, 'messages');
  }
}

/** Takes over the response for server-sent events (Fastify no longer sends anything for it). */
function openStream(reply: FastifyReply): true {
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  return true;
}
