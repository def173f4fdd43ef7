// GET /health: open to probes (no key), says nothing about adapters.
import type { FastifyInstance } from 'fastify';
import type { ServeContext } from '../setup.js';

export function healthRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get('/health', async () => ({ status: 'ok', model: ctx.baseName, running: ctx.engine.batchSize, waiting: ctx.engine.queueDepth }));
}
