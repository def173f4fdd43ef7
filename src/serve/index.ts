// The serving surface: an OpenAI-compatible multi-adapter server and its parts.
export { createServer } from './server.js';
export type { LorakitServer, ServeOptions, ServerState } from './server.js';
export { BatchEngine } from './engine.js';
export type { EngineOptions, FinishReason, SequenceRequest, SequenceResult, SlotLease } from './engine.js';
export { AdapterManager, AdapterEntry } from './adapters.js';
export { Auth, loadApiKeys, parseApiKeys } from './auth.js';
export type { Tenant } from './auth.js';
export { ServeMetrics } from './metrics.js';
