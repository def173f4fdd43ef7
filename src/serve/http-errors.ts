// Every error a route throws becomes an OpenAI-shaped error body: ApiError as built; a LorakitError with the HTTP
// status its code carries in src/errors.ts; Fastify's own 4xx (413 for a body over the limit says which limit);
// anything else a 500.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { httpStatus, isLorakitError } from '../errors.js';
import { ApiError } from './openai.js';
import type { ServeLimits } from './setup.js';

const errorType = (status: number): string => (status < 500 ? 'invalid_request_error' : 'server_error');

export const errorHandler = (limits: ServeLimits) => (err: FastifyError | Error, _req: FastifyRequest, reply: FastifyReply): FastifyReply => {
  if (err instanceof ApiError) return reply.code(err.status).headers(err.headers).send(err.body());
  if (isLorakitError(err)) {
    const status = httpStatus(err.code);
    return reply.code(status).send({ error: { message: err.message, type: errorType(status), param: null, code: err.code } });
  }
  const e = err as { statusCode?: number; message: string };
  if (e.statusCode === 413) {
    const { bodyBytes, maxPromptBytes, maxPromptTokens, bytesPerToken } = limits;
    const msg = `the request body is larger than this server's limit of ${bodyBytes} bytes (--max-body-bytes); ` +
      `a prompt cannot be longer than ${maxPromptBytes} bytes here (${maxPromptTokens} tokens × up to ${bytesPerToken} bytes per token)`;
    return reply.code(413).send({ error: { message: msg, type: 'invalid_request_error', param: null, code: 'request_too_large' } });
  }
  const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
  const error = { message: status === 500 ? `internal error: ${e.message}` : e.message, type: errorType(status), param: null, code: null };
  return reply.code(status).send({ error });
};
