// GET /v1/models: the base (or the merged model) and the adapters this key may use, with residency. Only admins
// see server paths; a tenant gets the model's name, or the registry reference it was resolved from.
import { resolve as resolvePath } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AdapterEntry } from '../adapters.js';
import { Auth } from '../auth.js';
import { type Req, authenticate } from '../request.js';
import type { ServeContext } from '../setup.js';

export function modelsRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const { baseName, mergedName } = ctx, maxModelLen = ctx.limits.ctx;
  app.get('/v1/models', { preHandler: authenticate(ctx) }, async (req: Req) => {
    const created = Math.floor(Date.now() / 1000);
    const admin = req.tenant!.admin;
    const root = admin ? resolvePath(ctx.checkpoint.dir) : mergedName ?? baseName;
    const rootOf = (e: AdapterEntry): string => (admin ? e.root : e.root.startsWith('registry:') ? e.root.slice('registry:'.length) : e.name);
    const model = { object: 'model', created, owned_by: 'lorakit', max_model_len: maxModelLen };
    if (mergedName !== null) return { object: 'list', data: [{ ...model, id: mergedName, root, parent: null, merged: true, resident: true }] };
    const data: unknown[] = [{ ...model, id: baseName, root, parent: null }];
    for (const e of ctx.adapters!.list()) {
      if (!Auth.mayUse(req.tenant!, e.name)) continue;
      data.push({
        ...model, id: e.name, root: rootOf(e), parent: baseName, resident: e.slot !== null,
        loaded: e.loaded, slot: e.slot, rank: e.rank, load_ms: e.loadMs ?? null, in_use: e.pins,
      });
    }
    return { object: 'list', data };
  });
}
