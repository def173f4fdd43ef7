// Per-request steps shared by the routes: the API-key check, prompt tokenizing under the byte cap, and the
// choice of model (base, merged adapter, registered adapter or registry reference) after the tenant check.
import type { FastifyRequest } from 'fastify';
import type { AdapterEntry } from './adapters.js';
import { Auth, type Tenant } from './auth.js';
import { ApiError, contextLengthExceeded } from './openai.js';
import type { ServeContext } from './setup.js';

export type Req = FastifyRequest & { tenant?: Tenant };

/** A preHandler: 401 without a valid key; sets req.tenant (everyone is an admin tenant when keys are off). */
export const authenticate = (ctx: ServeContext) => async (req: Req): Promise<void> => {
  const t = ctx.auth.tenant(req.headers.authorization);
  if (!t) throw new ApiError(401, 'missing or invalid API key (send Authorization: Bearer <key>)', null);
  req.tenant = t;
};

/** Tokens of a prompt: refused by its bytes first (no tokenizing), and tokenized in the worker when large. */
export async function encodeText(ctx: ServeContext, text: string, field: string, addSpecialTokens: boolean): Promise<number[]> {
  const { maxPromptBytes, maxPromptTokens, bytesPerToken, inlineTokenizeBytes } = ctx.limits;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxPromptBytes) {
    throw contextLengthExceeded(field, `'${field}' is ${bytes} bytes; it cannot fit this server's limit of ${maxPromptTokens} tokens ` +
      `(at most ${bytesPerToken} bytes per token with this tokenizer, so at most ${maxPromptBytes} bytes)`);
  }
  return bytes <= inlineTokenizeBytes ? ctx.tok.encode(text, { addSpecialTokens }) : ctx.tokWorker.encode(text, addSpecialTokens);
}

/** The adapter for a model name (null: the base or the merged model), after the tenant check (403 says nothing about existence). */
export async function pickModel(ctx: ServeContext, req: Req, model: string): Promise<AdapterEntry | null> {
  if (ctx.mergedName !== null) {
    if (model === ctx.mergedName) return null;
    throw new ApiError(404, `model '${model}' does not exist; this server serves only '${ctx.mergedName}' (merged)`, 'model');
  }
  if (model === ctx.baseName) return null;
  if (!Auth.mayUse(req.tenant!, model)) throw new ApiError(403, `this API key may not use model '${model}'`, 'model');
  const e = await ctx.adapters!.resolve(model);
  if (!e) throw new ApiError(404, `model '${model}' does not exist (see GET /v1/models)`, 'model');
  return e;
}
