// GET /metrics (Prometheus text). It names every adapter and its token counts: with API keys on it needs an admin
// key or the metrics key; with keys off it is open unless a metrics key is set (then only that key).
import type { FastifyInstance } from 'fastify';
import { Auth } from '../auth.js';
import { ApiError } from '../openai.js';
import type { ServeContext } from '../setup.js';

export function metricsRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const { auth } = ctx, metricsKey = ctx.opts.metricsKey;
  app.get('/metrics', async (req, reply) => {
    if (auth.enabled || metricsKey !== undefined) {
      const byMetricsKey = metricsKey !== undefined && Auth.bearerIs(req.headers.authorization, metricsKey);
      const t = byMetricsKey || !auth.enabled ? null : auth.tenant(req.headers.authorization);
      if (!byMetricsKey && !t) throw new ApiError(401, 'GET /metrics needs an admin API key or the --metrics-key (send Authorization: Bearer <key>)');
      if (!byMetricsKey && !t!.admin) {
        throw new ApiError(403, "this API key may not read /metrics (it shows every tenant's adapters); use an admin key or the --metrics-key");
      }
    }
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(ctx.metrics.render());
  });
}
