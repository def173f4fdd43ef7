// vLLM's runtime adapter endpoints, for admin keys: POST /v1/load_lora_adapter (checked and read now) and
// POST /v1/unload_lora_adapter (the slot is freed when the last running sequence on it finishes).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../openai.js';
import { type Req, authenticate } from '../request.js';
import type { ServeContext } from '../setup.js';

export function adapterRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const { adapters, baseName } = ctx;
  app.post('/v1/load_lora_adapter', { preHandler: authenticate(ctx) }, async (req: Req) => {
    if (!req.tenant!.admin) throw new ApiError(403, 'this API key may not load adapters', null);
    if (!adapters) throw new ApiError(400, 'this server runs in merged mode; it serves no other adapters', null);
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.lora_name !== 'string' || !b.lora_name) throw new ApiError(400, "'lora_name' is required", 'lora_name');
    if (typeof b.lora_path !== 'string' || !b.lora_path) throw new ApiError(400, "'lora_path' is required", 'lora_path');
    if (b.lora_name === baseName) throw new ApiError(400, `'lora_name' '${b.lora_name}' is the base model's name`, 'lora_name');
    const e = await adapters.register(b.lora_name, b.lora_path, { preload: true });
    await ctx.engine.warmup(); // compile now if the adapter added target modules, so its first request is not slow
    return { status: 'ok', name: e.name, rank: e.rank, load_ms: e.loadMs ?? null, message: `Success: LoRA adapter '${e.name}' added successfully.` };
  });

  app.post('/v1/unload_lora_adapter', { preHandler: authenticate(ctx) }, async (req: Req) => {
    if (!req.tenant!.admin) throw new ApiError(403, 'this API key may not unload adapters', null);
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.lora_name !== 'string' || !b.lora_name) throw new ApiError(400, "'lora_name' is required", 'lora_name');
    if (!adapters?.unload(b.lora_name)) throw new ApiError(404, `no adapter named '${b.lora_name}' is loaded`, 'lora_name');
    return { status: 'ok', message: `Success: LoRA adapter '${b.lora_name}' removed successfully.` };
  });
}
