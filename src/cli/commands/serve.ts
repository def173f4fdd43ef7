// lorakit serve: an OpenAI-compatible server for one base model and many LoRA adapters, batched together.
import { LorakitError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { existingDir, existingFile, finiteNumber, positiveInt } from '../parse.js';
import { type QuantFlags, quantFlags, quantOptions } from '../quant-flags.js';

function nonNegativeNumber(raw: string, flag: string): number {
  const n = finiteNumber(raw, flag);
  if (n < 0) throw new LorakitError('LK_ARG', `'${flag}' must be >= 0, got ${n}`);
  return n;
}

export interface ServeFlags extends QuantFlags {
  model: string;
  adapter: string[];
  registry: boolean;
  registryHome: string | undefined;
  store: string | undefined;
  aliasTtl: number;
  port: number;
  host: string;
  maxLoras: number; maxLoraRank: number; maxBatch: number; maxQueue: number; maxTokensLimit: number | undefined; maxPromptTokens: number | undefined;
  maxBodyBytes: number | undefined; metricsKey: string | undefined;
  requestTimeoutS: number; apiKeys: string | undefined; merged: string | undefined; servedModelName: string | undefined; preload: boolean;
  threads: number | undefined; bakeWeights: boolean; drainTimeoutS: number; json: boolean;
}

/** 'NAME=DIR' → [name, dir]. */
export function parseAdapterFlag(raw: string, flag: string): string {
  const eq = raw.indexOf('=');
  if (eq <= 0 || eq === raw.length - 1) {
    throw new LorakitError('LK_ARG', `'${flag}': expected NAME=DIR, got '${raw}'`);
  }
  return raw;
}

export const serveCmd = defineCommand<ServeFlags>({
  name: 'serve',
  summary: 'OpenAI-compatible server: one base model, many LoRA adapters per request, batched together',
  example: 'lorakit serve --model models/tiny-llama --adapter support=out/support --adapter sql=out/sql --port 8000',
  flags: {
    model: { arg: '<dir>', help: 'HF model folder (the base)', parse: existingDir, required: true },
    adapter: { arg: '<name=dir>', help: 'serve a PEFT adapter under a name (repeatable; loaded on first use unless --preload)', repeatable: true },
    registry: { help: 'resolve unknown model names as registry references (name, name@v3, name@production)', default: false },
    registryHome: { arg: '<dir>', help: 'registry home (default $LORAKIT_HOME or ~/.lorakit)' },
    aliasTtl: {
      arg: '<s>', help: "re-check a served 'name@alias' in the registry after this many seconds (a moved alias is served within it)",
      default: 5, parse: nonNegativeNumber,
    },
    store: {
      arg: '<url>',
      help: 'registry store, implies --registry: sqlite:PATH or postgres://user@host/db (default: $LORAKIT_STORE, else SQLite under the home)',
    },
    port: { arg: '<n>', help: 'TCP port (0 = any free port)', default: 8000, parse: (r, f) => (r === '0' ? 0 : positiveInt(r, f)) },
    host: { arg: '<addr>', help: 'address to listen on', default: '127.0.0.1' },
    maxLoras: { arg: '<n>', help: 'adapters resident in batch slots at once (LRU beyond that)', default: 8, parse: positiveInt },
    maxLoraRank: { arg: '<r>', help: 'refuse adapters of a higher rank (at load, before traffic)', default: 64, parse: positiveInt },
    maxBatch: { arg: '<n>', help: 'sequences decoded together per engine step', default: 16, parse: positiveInt },
    maxQueue: { arg: '<n>', help: 'waiting sequences before requests get 429', default: 64, parse: positiveInt },
    maxTokensLimit: { arg: '<n>', help: "upper bound on a request's max_tokens (default: the model's context)", parse: positiveInt },
    maxPromptTokens: { arg: '<n>', help: 'longest prompt accepted, in tokens (default: the context - 1)', parse: positiveInt },
    maxBodyBytes: {
      arg: '<n>', help: 'bodies above this get 413 unread (default: 3 × the longest prompt that fits, in bytes, + 64 KiB; ≥ 1 MiB)',
      parse: positiveInt,
    },
    metricsKey: { arg: '<key>', help: 'key (≥ 8 chars) for GET /metrics, e.g. Prometheus (default $LORAKIT_METRICS_KEY); admin API keys work too' },
    requestTimeoutS: { arg: '<s>', help: 'cancel a request after this many seconds', default: 600, parse: positiveInt },
    apiKeys: {
      arg: '<file>',
      help: 'JSON {"keys": [{"key", "adapters": [...] | "*", "name", "admin"}]}; requests need Authorization: Bearer <key>',
      parse: existingFile,
    },
    merged: { arg: '<name>', help: 'merge this --adapter into the weights and serve only it (no LoRA overhead)' },
    servedModelName: { arg: '<name>', help: "the base model's name in requests (default: the folder name)" },
    preload: { help: 'read every --adapter at startup instead of on first use', default: false },
    threads: { arg: '<n>', help: 'onnxruntime intra-op threads', parse: positiveInt },
    bakeWeights: { help: 'bake the base weights into the decode graph (ORT prepacks them: faster decode, a second copy of the weights)' },
    drainTimeoutS: {
      arg: '<s>',
      help: 'on SIGTERM/SIGINT: report not ready, refuse new work, and wait this long for requests in flight before exiting',
      default: 30,
      parse: positiveInt,
    },
    ...quantFlags,
    json: { help: 'print the startup summary as JSON' },
  },
  async run(f, io) {
    const { createServer } = await import('../../serve/server.js');
    const adapters: Record<string, string> = {};
    for (const a of f.adapter.map((x) => parseAdapterFlag(x, '--adapter'))) {
      const [name, dir] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
      if (adapters[name]) throw new LorakitError('LK_ARG', `serve: --adapter '${name}' is given twice`);
      adapters[name] = dir;
    }
    const registry =
      f.registry || f.registryHome || f.store
        ? (await import('../../registry/index.js')).Registry.open(f.registryHome, { store: f.store })
        : undefined;
    const t0 = performance.now();
    const app = await createServer({
      quantize: quantOptions(f),
      model: f.model, adapters, registry, maxLoras: f.maxLoras, maxLoraRank: f.maxLoraRank, maxBatch: f.maxBatch, maxQueue: f.maxQueue,
      maxTokensLimit: f.maxTokensLimit, maxPromptTokens: f.maxPromptTokens, requestTimeoutS: f.requestTimeoutS, apiKeys: f.apiKeys,
      maxBodyBytes: f.maxBodyBytes, metricsKey: f.metricsKey ?? (process.env.LORAKIT_METRICS_KEY || undefined), aliasTtlS: f.aliasTtl,
      merged: f.merged, servedModelName: f.servedModelName, preload: f.preload, threads: f.threads, bakeWeights: f.bakeWeights,
    });
    const address = await app.listen({ port: f.port, host: f.host });
    const s = app.lorakit;
    io.done({ address, model: s.baseName, adapters: Object.keys(adapters), merged: f.merged ?? null, startup_ms: Math.round(performance.now() - t0) },
      `serving '${s.baseName}'${Object.keys(adapters).length ? ` + adapters ${Object.keys(adapters).join(', ')}` : ''} ` +
        `at ${address}/v1 (Ctrl-C to stop)`);
    // graceful drain: /ready turns 503 at once, so the load balancer stops sending work; in-flight requests finish
    const finished = await new Promise<boolean>((resolve) => {
      const stop = (): void => { void s.drain(f.drainTimeoutS * 1000).then(resolve); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    if (!finished) io.stderr.write(`lorakit serve: drain timed out after ${f.drainTimeoutS} s; requests still in flight were cancelled\n`);
    await registry?.close();
  },
});
