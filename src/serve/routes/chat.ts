// POST /v1/chat/completions: `messages` rendered with the model's chat template, then tokenized without adding
// special tokens again (the template has them).
import type { FastifyInstance } from 'fastify';
import { ApiError, parseMessages } from '../openai.js';
import { authenticate, encodeText } from '../request.js';
import type { ServeContext } from '../setup.js';
import { generateRoute } from './generate.js';

export function chatRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.post('/v1/chat/completions', { preHandler: authenticate(ctx) }, generateRoute(ctx, {
    chat: true, field: 'messages',
    async prompts(_req, body) {
      const messages = parseMessages(body);
      let text: string;
      try {
        text = ctx.tok.applyChatTemplate(messages, { addGenerationPrompt: true });
      } catch (e) {
        throw new ApiError(400, `'messages' cannot be rendered with the model's chat template: ${(e as Error).message}`, 'messages');
      }
      return [await encodeText(ctx, text, 'messages', false)];
    },
  }));
}
