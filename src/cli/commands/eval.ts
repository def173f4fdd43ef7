// `lorakit eval`: a suite on a base and base + adapter (a folder or a registry reference), with intervals,
// train/serve parity and the promotion gate. Exit 0: passed (or base only); 3: the gate failed; 1: an error.
// The report goes to --out (report.json, report.md, items.jsonl) and, for registry adapters or --register,
// onto the adapter version in the registry, where `registry alias-set --require-suite` reads it.
import { defineCommand } from '../command.js';
import { existingDir, nonNegativeInt, positiveInt } from '../parse.js';
import { type QuantFlags, quantFlags, quantOptions } from '../quant-flags.js';

export interface EvalFlags extends QuantFlags {
  model: string; adapter: string | undefined; suite: string; out: string | undefined; seed: number | undefined;
  register: string | undefined; threads: number | undefined; batchSize: number | undefined; noTrack: boolean; json: boolean;
}

export const EXIT_GATE_FAILED = 3;

export const evalCmd = defineCommand<EvalFlags>({
  name: 'eval',
  summary: 'Evaluate an adapter against its base: domain gain, forgetting, train/serve parity, promotion gate',
  example: 'lorakit eval --model models/base --adapter support@v3 --suite evals/support.yaml --out eval/support-v3',
  flags: {
    model: { arg: '<dir>', help: 'HF base model folder', parse: existingDir, required: true },
    adapter: {
      arg: '<dir|ref>',
      help: "PEFT adapter folder, or a registry reference such as 'support@v3' or 'support@staging' (the report is then stored with it)",
    },
    suite: { arg: '<file|name>', help: "suite YAML/JSON file, or a bundled suite: 'general' (held-out Brown text) or 'sotu'", required: true },
    out: { arg: '<dir>', help: 'write report.json, report.md and items.jsonl here' },
    seed: { arg: '<n>', help: "bootstrap seed (default: the suite's, else 0)", parse: nonNegativeInt },
    register: { arg: '<ref>', help: 'attach the report to this registry adapter version (it must hold the same adapter as --adapter)' },
    threads: { arg: '<n>', help: 'onnxruntime threads', parse: positiveInt },
    batchSize: { arg: '<n>', help: 'windows / prompts per run (choices: twice as many)', parse: positiveInt },
    ...quantFlags,
    noTrack: { help: 'do not record the run in the experiment tracker (LORAKIT_HOME)', default: false },
    json: { help: 'print the result as JSON (progress as JSON lines on stderr)', default: false },
  },
  async run(f, io) {
    const { LorakitError } = await import('../../errors.js');
    const ev = await import('../../eval/index.js');
    const suite = ev.loadSuite(f.suite);
    let adapterDir: string | undefined, ref: string | null = null, adapterArg: import('../adapter-arg.js').AdapterArg | undefined;
    let registry: import('../../registry/index.js').Registry | undefined;
    const openRegistry = async (): Promise<import('../../registry/index.js').Registry> =>
      (registry ??= (await import('../../registry/index.js')).Registry.open());
    const { failRun, finishRun, startTracking } = await import('../tracking.js');
    let run: import('../../track/index.js').RunHandle | null = null;
    try {
      if (f.adapter !== undefined) {
        // A folder, or a registry reference (refused on another base, exported to a temp folder): one helper for all verbs.
        const { openAdapterArg } = await import('../adapter-arg.js');
        adapterArg = await openAdapterArg(f.adapter, f.model, { io, registry: openRegistry });
        adapterDir = adapterArg.dir;
        ref = adapterArg.ref;
      }
      if (f.register !== undefined) {
        if (!adapterDir) throw new LorakitError('LK_ARG', "'--register' needs '--adapter'");
        const reg = await openRegistry();
        const v = await reg.resolve(f.register);
        const { fingerprintAdapterDir } = await import('../../models/fingerprint.js');
        const fp = (await fingerprintAdapterDir(adapterDir)).fingerprint;
        if (fp !== v.fingerprint) {
          throw new LorakitError(
            'LK_CONFLICT',
            `'${adapterDir}' is not ${v.ref}: its fingerprint ${fp.slice(0, 12)} differs from the registered ${v.fingerprint.slice(0, 12)}`,
            { hint: 'register this folder as a new version first (lorakit registry add-adapter)' },
          );
        }
        if (ref && ref !== v.ref) throw new LorakitError('LK_ARG', `'--adapter ${f.adapter}' is ${ref} but '--register' names ${v.ref}`);
        // The registry stores only a report made on the version's own base: refuse before spending the evaluation.
        await reg.assertCompatible(v.ref, f.model);
        ref = v.ref;
      }

      const { noTrack: _noTrack, json: _json, ...config } = f;
      run = f.noTrack
        ? null
        : await startTracking(
            'eval',
            { ...config, adapterDir: adapterDir ?? null, adapterRef: ref },
            ref ?? f.adapter ?? f.model,
          );
      let bar: ReturnType<typeof io.progress> | undefined, barKey = '';
      const t0 = performance.now();
      const { report, items } = await ev.evaluate({
        modelDir: f.model, quantize: quantOptions(f), adapterDir, adapterRef: ref, suite, seed: f.seed, threads: f.threads, batchSize: f.batchSize,
        parityPaths: async (ctx) => serverParityPath(ctx),
        onProgress: (e) => {
          const key = `${e.phase} ${e.task ?? ''} ${e.model ?? ''}`;
          if (key !== barKey) {
            bar?.finish();
            barKey = key;
            bar = io.progress({
              total: e.total,
              label: e.phase === 'parity' ? 'parity paths' : `${e.task} (${e.model})`,
              unit: e.phase === 'parity' ? 'path' : 'seq',
            });
          }
          bar!.tick(e.done);
        },
      });
      bar?.finish();
      let files: ReturnType<typeof ev.writeEvalReport> | null = null;
      if (f.out) files = ev.writeEvalReport(f.out, report, items);
      run?.setLineage({ baseFingerprint: report.model.fingerprint, ...(report.adapter ? { evaluated: ref ?? report.adapter.fingerprint } : {}) });
      run?.logMetrics(0, evalRunMetrics(report));
      if (files) for (const [name, path] of Object.entries(files)) run?.logArtifact(`report.${name}`, path, 'eval-report');
      let registered: string | null = null;
      if (ref) {
        const reg = await openRegistry();
        const stored = report as unknown as import('../../registry/index.js').EvalReport;
        await reg.addEvalReport(ref, stored, { reason: `lorakit eval --suite ${f.suite}` });
        registered = ref;
      }
      const code = report.gate.applied && !report.passed ? EXIT_GATE_FAILED : 0;
      if (!io.json) {
        io.log(ev.renderMarkdown(report).split('\n').filter((l) => !l.startsWith('# ') && l !== report.summary).join('\n').trim());
        io.log('');
        if (files) io.log(`report written to ${files.json}, ${files.markdown}, ${files.items}`);
        if (registered) io.log(`report attached to ${registered} in the registry (suite '${report.suite}', ${report.passed ? 'passed' : 'failed'})`);
        io.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
      if (code !== 0) io.stderr.write(`eval: the '${report.suite}' gate FAILED:\n${report.gate.reasons.map((r) => `  - ${r}`).join('\n')}\n`);
      await finishRun(run, { suite: report.suite, passed: report.passed, gate_applied: report.gate.applied, summary: report.summary, registered });
      io.done({ report, files, registered, exit_code: code, runId: run?.id ?? null }, report.summary);
      return code;
    } catch (e) {
      return await failRun(run)(e);
    } finally {
      adapterArg?.cleanup();
      await registry?.close();
    }
  },
});

/** An eval run's metrics (logged at step 0): each task's base and adapter scores and their change, and the gate. */
export function evalRunMetrics(report: import('../../eval/index.js').EvalReport): Record<string, number> {
  const m: Record<string, number> = { passed: report.passed ? 1 : 0 };
  for (const t of report.tasks) {
    m[`${t.name}.base`] = t.base.value;
    if (t.adapter) m[`${t.name}.adapter`] = t.adapter.value;
    if (t.delta) m[`${t.name}.delta`] = t.delta.value;
  }
  return m;
}

/**
 * The server parity path: `lorakit serve` built in-process (createServer, the adapter registered as
 * 'candidate'), the probes sent as token-id prompts to POST /v1/completions at temperature 0 through
 * Fastify's inject, concurrently so that the engine batches them as it would batch users. The server exposes
 * no logits, so this path is compared on greedy tokens only (up to EOS, at which a server always stops).
 */
export async function serverParityPath(
  ctx: import('../../eval/index.js').ParityContext,
  load: () => Promise<Pick<typeof import('../../serve/server.js'), 'createServer'>> = () => import('../../serve/server.js'),
): Promise<{ paths: import('../../eval/index.js').ParityPath[]; missing: import('../../eval/index.js').MissingPath[] }> {
  // A server that cannot be loaded or started is reported as a path that could not run: it fails parity, with the
  // reason in the report (issue 13), instead of failing the whole evaluation or being skipped silently.
  let app: Awaited<ReturnType<typeof import('../../serve/server.js').createServer>>;
  try {
    const { createServer } = await load();
    try {
      app = await createServer({ model: ctx.base, adapters: { candidate: ctx.adapterDir }, preload: true, threads: ctx.threads });
    } catch (e) {
      return { paths: [], missing: [{ name: 'server', reason: `the server could not start: ${(e as Error).message}` }] };
    }
  } catch (e) {
    return { paths: [], missing: [{ name: 'server', reason: `src/serve could not be loaded: ${(e as Error).message}` }] };
  }
  const eos = ctx.base.generationConfig.eosTokenIds.length ? ctx.base.generationConfig.eosTokenIds : ctx.base.tokenizer?.eosTokenIds ?? [];
  return {
    missing: [],
    paths: [{
      name: 'server', description: 'lorakit serve in-process (POST /v1/completions via inject, token-id prompts, temperature 0, concurrent requests)',
      async run(probes, maxNewTokens) {
        const tokens = await Promise.all(probes.map(async (p) => {
          const res = await app.inject({
            method: 'POST',
            url: '/v1/completions',
            payload: {
              model: 'candidate',
              prompt: [...p],
              max_tokens: maxNewTokens,
              temperature: 0,
              return_token_ids: true,
            },
          });
          if (res.statusCode !== 200) throw new Error(`POST /v1/completions answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
          return (res.json() as { choices: { token_ids: number[] }[] }).choices[0].token_ids;
        }));
        return { tokens, stopTokenIds: eos };
      },
      close: async () => { await app.close(); },
    }],
  };
}
