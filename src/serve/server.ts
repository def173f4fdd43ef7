// The OpenAI-compatible HTTP server (Fastify): one base model in memory, adapters chosen per request by the
// `model` field and batched together by the engine. vLLM's adapter endpoints (load/unload), residency in
// /v1/models, Prometheus /metrics, tenants by API key, a bounded queue, per-request timeouts, cancellation on
// disconnect. Setup is in setup.ts, one module per route family in routes/. Tested in-process with inject and
// with the openai client on a real port.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Checkpoint } from '../models/checkpoint.js';
import type { AdapterManager } from './adapters.js';
import type { BatchEngine } from './engine.js';
import { errorHandler } from './http-errors.js';
import type { Lifecycle } from './lifecycle.js';
import type { ServeMetrics } from './metrics.js';
import type { ServeOptions } from './options.js';
import { adapterRoutes } from './routes/adapters.js';
import { chatRoutes } from './routes/chat.js';
import { completionsRoutes } from './routes/completions.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { modelsRoutes } from './routes/models.js';
import { setupServing } from './setup.js';

export type { ServeOptions } from './options.js';

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

export async function createServer(opts: ServeOptions): Promise<LorakitServer> {
  const ctx = await setupServing(opts);
  const { engine, adapters, metrics, baseName, checkpoint, life } = ctx;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: ctx.limits.bodyBytes });
  const drain = async (timeoutMs: number): Promise<boolean> => {
    const finished = await life.drain(timeoutMs);
    await app.close();
    return finished;
  };
  app.decorate('lorakit', { engine, adapters, metrics, baseName, checkpoint, life, drain } satisfies ServerState);
  app.addHook('onReady', async () => { if (life.phase === 'starting') life.phase = 'ready'; });
  app.setErrorHandler(errorHandler(ctx.limits));
  app.addHook('onResponse', async (req, reply) => {
    metrics.requests.inc({ route: req.routeOptions.url ?? 'unknown', code: String(reply.statusCode) });
  });
  app.addHook('onClose', async () => {
    for (const s of [...engine.waiting, ...engine.running]) engine.cancel(s);
    await engine.idle;
    await ctx.tokWorker.close();
  });
  for (const routes of [healthRoutes, metricsRoutes, modelsRoutes, adapterRoutes, completionsRoutes, chatRoutes]) routes(app, ctx);
  return app as unknown as LorakitServer;
}
