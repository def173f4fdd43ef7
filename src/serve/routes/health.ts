// GET /health (liveness) and GET /ready (readiness for a load balancer: HAProxy's httpchk, a Kubernetes
// readinessProbe; 503 while the replica starts or drains): open to probes (no key), say nothing about adapters.
import type { FastifyInstance } from 'fastify';
import type { ServeContext } from '../setup.js';

export function healthRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const { life } = ctx;
  app.get('/ready', async (_req, reply) =>
    reply.code(life.ready ? 200 : 503).send({ ready: life.ready, phase: life.phase, in_flight: life.inFlight }),
  );
  app.get('/health', async () => ({ status: 'ok', model: ctx.baseName, running: ctx.engine.batchSize, waiting: ctx.engine.queueDepth }));
}
