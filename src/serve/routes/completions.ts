// POST /v1/completions: `prompt` is a string, a list of strings, token ids or a list of token-id lists.
import type { FastifyInstance } from 'fastify';
import { parsePrompt } from '../openai.js';
import { authenticate, encodeText } from '../request.js';
import type { ServeContext } from '../setup.js';
import { generateRoute } from './generate.js';

export function completionsRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.post('/v1/completions', { preHandler: authenticate(ctx) }, generateRoute(ctx, {
    chat: false, field: 'prompt',
    async prompts(_req, body) {
      const out: number[][] = [];
      for (const x of parsePrompt(body)) out.push(typeof x === 'string' ? await encodeText(ctx, x, 'prompt', true) : x);
      return out;
    },
  }));
}
