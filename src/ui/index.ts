// The dashboard: a fastify plugin with read-only JSON routes over the tracker and the registry, and one
// page of plain HTML/JS (src/ui/static; no CDN, no network) that draws loss curves on a <canvas>.
// Mount it anywhere: `app.register(registerDashboard, { prefix: '/ui', tracker, registry })`, or call
// `registerDashboard(app, { tracker, registry })` to serve it at the root.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isLorakitError, type ErrorCode } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { Tracker } from '../track/tracker.js';
import { adaptersByBase, compareTable, lineageOf, runSeries, runsTable } from './data.js';

export interface DashboardOptions { readonly tracker: Tracker; readonly registry: Registry }

const STATIC_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
} as const;

/** src/ui/static next to this file; from dist/ui, fall back to the source tree (tsc copies no assets). */
function staticDir(): URL {
  const candidates = [new URL('./static/', import.meta.url), new URL('../../src/ui/static/', import.meta.url)];
  return candidates.find((u) => existsSync(fileURLToPath(new URL('index.html', u)))) ?? candidates[0];
}

const STATUS: Partial<Record<ErrorCode, number>> = { LK_NOT_FOUND: 404, LK_ARG: 400 };

function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  if (isLorakitError(e)) return reply.code(STATUS[e.code] ?? 500).send({ error: e.toJSON() });
  throw e;
}

export async function registerDashboard(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const { tracker, registry } = opts;
  const dir = staticDir();
  const assets = Object.fromEntries(
    Object.entries(STATIC_FILES).map(([name, type]) => [
      name,
      { type, body: readFileSync(new URL(name, dir), 'utf8') },
    ]),
  );

  app.get('/', async (_req, reply) => reply.type(assets['index.html'].type).send(assets['index.html'].body));
  for (const name of ['app.js', 'style.css'] as const)
    app.get(`/${name}`, async (_req, reply) => reply.type(assets[name].type).send(assets[name].body));

  app.get('/api/runs', async () => ({ runs: await runsTable(tracker) }));
  app.get<{ Params: { id: string } }>('/api/runs/:id', async (req, reply) => {
    try {
      const r = await tracker.getRun(req.params.id);
      return { run: r, final: await tracker.finalMetrics(r.id), artifacts: await tracker.artifacts(r.id) };
    } catch (e) { return sendError(reply, e); }
  });
  app.get<{ Params: { id: string }; Querystring: { keys?: string } }>('/api/runs/:id/metrics', async (req, reply) => {
    try {
      return {
        id: req.params.id,
        series: await runSeries(tracker, req.params.id, req.query.keys ? req.query.keys.split(',') : undefined),
      };
    } catch (e) {
      return sendError(reply, e);
    }
  });
  app.get<{ Querystring: { ids?: string } }>('/api/compare', async (req, reply) => {
    try { return await compareTable(tracker, (req.query.ids ?? '').split(',').filter(Boolean)); } catch (e) { return sendError(reply, e); }
  });
  app.get('/api/adapters', async () => ({ groups: await adaptersByBase(registry) }));
  app.get<{ Querystring: { ref?: string } }>('/api/lineage', async (req, reply) => {
    try { return await lineageOf(tracker, registry, req.query.ref ?? ''); } catch (e) { return sendError(reply, e); }
  });
}

export interface StartedDashboard { readonly url: string; readonly close: () => Promise<void> }

/** A standalone server with the dashboard at '/', for `lorakit ui` and the browser test. */
export async function startDashboard(opts: DashboardOptions & { port?: number; host?: string }): Promise<StartedDashboard> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  await app.register(registerDashboard, { tracker: opts.tracker, registry: opts.registry });
  const address = await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  return { url: address + '/', close: () => app.close() };
}

export { adaptersByBase, compareTable, lineageOf, runSeries, runsTable } from './data.js';
