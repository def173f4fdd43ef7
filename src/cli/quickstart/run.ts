// `npm run quickstart`: the whole product on the bundled base model, in one output folder:
// curate real domain text → fine-tune a LoRA adapter → evaluate domain gain and forgetting with the gate →
// register base + adapter (lineage, alias if the gate passed) → side-by-side generations → how to serve it.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkOutDir, OUT_MARKER } from '../../util/out-dir.js';
import type { CommandIO } from '../command.js';
import type { QuantOptions } from '../../models/quant/scheme.js';
import { writeSotuRaw } from './domain-data.js';

export interface QuickstartOptions {
  readonly model: string;
  readonly out: string;
  readonly fast: boolean;
  readonly seed: number;
  readonly steps: number | undefined;
  /** QLoRA: quantize the bundled base (the adapter stays float32). */
  readonly quantize?: QuantOptions;
  /** Replace a non-empty --out folder that quickstart did not write (never --model). */
  readonly overwrite?: boolean;
}

const PROMPTS = ['The state of the Union is', 'My fellow Americans,', 'The Congress of the United States'];

export async function runQuickstart(o: QuickstartOptions, io: CommandIO): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const out = resolve(o.out);
  // The --out rule of util/out-dir.ts: replace only an earlier quickstart's folder (or any non-input one with overwrite).
  checkOutDir(out, { verb: 'quickstart', overwrite: o.overwrite, inputs: [{ flag: '--model', path: o.model }] });
  if (existsSync(out)) rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, OUT_MARKER), JSON.stringify({ verb: 'quickstart', createdAt: new Date().toISOString() }) + '\n');
  // Registry and tracking live inside the output folder, so the quickstart touches nothing else.
  process.env.LORAKIT_HOME = join(out, 'lorakit-home');
  const { loadCheckpoint } = await import('../../models/checkpoint.js');
  const { curate } = await import('../../data/index.js');
  const { resolveTrainConfig } = await import('../../train/config.js');
  const { formatCount } = await import('../../train/trainer.js');
  const { trainTracked } = await import('../tracked-train.js');
  const { evaluate, loadSuite, writeEvalReport } = await import('../../eval/index.js');
  const { Registry } = await import('../../registry/index.js');
  const { Tracker } = await import('../../track/index.js');
  const { CausalLM } = await import('../../models/causal-lm.js');
  const { generate } = await import('../../models/generate.js');
  const { loadAdapterFor } = await import('../../lora/load.js');
  const section = (n: number, title: string): void => io.log(`\n── ${n}. ${title} ${'─'.repeat(Math.max(0, 60 - title.length))}`);

  const base = await loadCheckpoint(o.model, { tokenizer: true, quantize: o.quantize });
  const q = base.quant?.scheme;
  const quantArgs = q
    ? ` --quantize int${q.bits} --quant-block ${q.blockSize}${q.symmetric ? '' : ' --quant-zero-point'} --quant-accuracy ${q.accuracy}`
    : '';
  const tok = base.tokenizer!;
  io.log(
    `lorakit quickstart: base ${o.model} (${base.config.architectures[0]}, ${formatCount(base.parameters)} parameters` +
      `${q ? `, ${base.quantization}` : ''}), output in ${out}`,
  );

  // 1. Curate.
  section(1, 'Curate State of the Union addresses');
  const raw = writeSotuRaw(join(out, 'raw', 'sotu.jsonl'), {
    fromYear: o.fast ? 1990 : 1900,
    maxPassages: o.fast ? 300 : 4000,
    replay: o.fast ? 100 : 4000,
  });
  const report = await curate({
    inputs: [join(out, 'raw', 'sotu.jsonl')], outDir: join(out, 'data'), evalFraction: 0.05, seed: o.seed, minTokens: 16, maxTokens: 1024,
    tokenCounter: (t: string) => tok.encode(t, { addSpecialTokens: false }).length, tokenCounterName: `tokenizer: ${o.model}`,
  });
  const c = report.counts;
  io.log(
    `${raw.addresses} addresses → ${raw.passages} passages, + ${raw.replay} Brown passages replayed against forgetting → ` +
      `${c.kept} kept (${c.train} train / ${c.eval} eval), ${c.rejected} rejected, ${c.removed} filtered, ` +
      `${c.exactDuplicates} exact + ${c.nearDuplicates} near duplicates`,
  );
  io.log(`report: ${report.outputs.reportHtml}`);

  // 2. Fine-tune.
  section(2, 'Fine-tune a LoRA adapter');
  const tracker = await Tracker.open();
  const trainCfg = resolveTrainConfig({
    model: o.model, data: join(out, 'data', 'train.jsonl'), evalData: join(out, 'data', 'eval.jsonl'),
    out: join(out, 'adapter'), runDir: join(out, 'run'),
    rank: 16, alpha: 32, targetModules: ['all-linear'], lr: 2e-3, warmupSteps: 5, schedule: 'cosine', batchSize: 8, maxLength: 256, truncate: true,
    packing: true, maxSteps: o.steps ?? (o.fast ? 6 : 120), evalEvery: o.fast ? 3 : 40, seed: o.seed, skipInvalid: true,
    ...(q
      ? ({
          quantize: q.bits === 4 ? 'int4' : 'int8',
          quantBlock: q.blockSize,
          quantZeroPoint: !q.symmetric,
          quantAccuracy: q.accuracy,
        } as const)
      : {}),
  });
  const run = await tracker.startRun({
    kind: 'train',
    name: 'quickstart-sotu',
    config: trainCfg as unknown as Record<string, unknown>,
    runDir: join(out, 'run'),
  });
  const trained = await trainTracked(trainCfg, io, run, {
    base,
    describe(i) {
      const share = ((100 * i.trainable) / i.total).toFixed(2);
      io.log(
        `trainable: ${formatCount(i.trainable)} of ${formatCount(i.total)} parameters (${share}%), ` +
          `${i.modules.length} modules, ${i.trainSamples} samples`,
      );
    },
  });
  io.log(
    `${trained.steps} steps in ${trained.seconds.toFixed(0)} s (${Math.round(trained.tokensPerSecond)} tok/s); ` +
      `held-out loss ${trained.baseEvalLoss?.toFixed(3)} → ${trained.evalLoss?.toFixed(3)}`,
  );

  // 3. Evaluate + gate.
  section(3, 'Evaluate: domain gain and forgetting, then the gate');
  const suite = loadSuite('sotu');
  let evalBar: { key: string; bar: ReturnType<CommandIO['progress']> } | null = null;
  const { serverParityPath } = await import('../commands/eval.js');
  const evaluated = await evaluate({
    modelDir: o.model, suite, adapterDir: trained.adapterDir, base, seed: o.seed,
    trainedAdapter: trained.adapter, // the "train" parity path runs the trainer's own tensors, not the folder's
    parityPaths: (ctx) => serverParityPath(ctx), // the OpenAI server is the fourth parity path
    onProgress: (e) => { // one bar per task and model
      const key = `${e.phase}:${e.task ?? ''}:${e.model ?? ''}`;
      if (evalBar?.key !== key) {
        evalBar?.bar.finish();
        evalBar = {
          key,
          bar: io.progress({
            total: e.total,
            label: `eval ${e.task ?? e.phase}${e.model ? ` (${e.model})` : ''}`,
            unit: 'item',
          }),
        };
      }
      evalBar.bar.tick(e.done);
    },
  });
  (evalBar as { bar: ReturnType<CommandIO['progress']> } | null)?.bar.finish();
  const files = writeEvalReport(join(out, 'eval'), evaluated.report, evaluated.items);
  const rows = evaluated.report.tasks.map((t) => ({
    task: t.name,
    tag: t.tag,
    metric: t.metric,
    base: t.base.value,
    adapter: t.adapter?.value ?? NaN,
    delta: t.delta
      ? `${t.delta.value >= 0 ? '+' : ''}${t.delta.value.toFixed(1)}${t.delta.unit === 'pct' ? '%' : ' pts'} ` +
        `[${t.delta.ci[0].toFixed(1)}, ${t.delta.ci[1].toFixed(1)}]`
      : '',
  }));
  const w = Math.max(...rows.map((r) => r.task.length));
  io.log(`${'task'.padEnd(w)}  tag      metric       base      adapter   change (95% CI)`);
  for (const r of rows) {
    io.log(
      `${r.task.padEnd(w)}  ${r.tag.padEnd(7)}  ${r.metric.padEnd(10)}  ` +
        `${r.base.toFixed(2).padStart(8)}  ${r.adapter.toFixed(2).padStart(8)}   ${r.delta}`,
    );
  }
  const gate = evaluated.report.gate;
  io.log(
    `gate: ${gate.passed ? 'PASSED' : 'FAILED'}${gate.reasons.length ? ` (${gate.reasons.join('; ')})` : ''}; ` +
      `parity of training / PEFT-at-load / merged / server paths: ${evaluated.report.parity?.passed ? 'ok' : 'DRIFT'}`,
  );
  io.log(`report: ${files.markdown}`);

  // 4. Register with lineage; alias if the gate passed.
  section(4, 'Register base and adapter');
  const registry = Registry.open();
  let alias: string | null = null;
  let ref: string;
  try {
    const b = await registry.addBase(o.model, { name: 'quickstart-base' });
    const reg = await registry.addAdapter(trained.adapterDir, {
      name: 'sotu',
      base: b.fingerprint,
      runId: run.id,
      datasetFingerprint: trained.datasetFingerprint,
      metrics: { eval_loss: trained.evalLoss ?? NaN, base_eval_loss: trained.baseEvalLoss ?? NaN },
    });
    ref = reg.version.ref;
    await registry.addEvalReport(ref, evaluated.report as never);
    await tracker.updateLineage(run.id, { adapterVersion: ref });
    if (gate.passed) {
      await registry.setAlias(ref, 'production', { requireSuite: suite.name, reason: 'quickstart: gate passed' });
      alias = 'production';
    }
    io.log(
      `base ${b.name ?? ''} ${b.fingerprint.slice(0, 12)}; ` +
        `adapter ${ref}${alias ? ` → alias '${alias}'` : ' (no alias: the gate failed)'}; run ${run.id}`,
    );
    io.log(
      `lineage: ${trained.datasetFingerprint.slice(0, 12)} (data) → run ${run.id.slice(0, 8)} → ${ref} → ` +
        `eval '${suite.name}' ${gate.passed ? 'passed' : 'failed'}${alias ? ` → ${alias}` : ''}`,
    );
  } finally {
    await registry.close();
    await tracker.close();
  }

  // 5. Side by side.
  section(5, 'Generations: base vs adapter (greedy, 40 tokens)');
  const lm = new CausalLM(base.config, base.weights, base.shapes, { quant: base.quant });
  const adapter = await loadAdapterFor(base, trained.adapterDir);
  const ids = PROMPTS.map((p) => tok.encode(p));
  const gen = async (binding?: typeof adapter.binding): Promise<string[]> =>
    (
      await generate(lm, ids, {
        maxNewTokens: o.fast ? 12 : 40,
        repetitionPenalty: 1.2,
        eosTokenIds: tok.eosTokenIds,
        decode: (x) => tok.decode(x, { skipSpecialTokens: true }),
        adapter: binding,
      })
    ).text!;
  const [bt, at] = [await gen(), await gen(adapter.binding)];
  PROMPTS.forEach((p, i) => io.log(`\n» ${p}\n  base:    ${p}${bt[i].replace(/\s+/g, ' ')}\n  adapter: ${p}${at[i].replace(/\s+/g, ' ')}`));

  // 6. Serve.
  section(6, 'Serve it');
  io.log([
    `npx lorakit serve --model ${o.model}${quantArgs} --adapter sotu=${trained.adapterDir} --port 8000`,
    `curl -s localhost:8000/v1/completions -H 'content-type: application/json' ` +
      `-d '{"model": "sotu", "prompt": "My fellow Americans,", "max_tokens": 40}'`,
    `node -e "const OpenAI = require('openai'); new OpenAI({ baseURL: 'http://localhost:8000/v1', apiKey: 'none' })` +
      `.completions.create({ model: 'sotu', prompt: 'My fellow Americans,', max_tokens: 40 }).then((r) => console.log(r.choices[0].text))"`,
    `(or with the registry: LORAKIT_HOME=${process.env.LORAKIT_HOME} npx lorakit serve --model ${o.model} --registry, ` +
      `then "model": "sotu@production")`,
  ].join('\n'));
  const seconds = (performance.now() - t0) / 1000;
  io.log(`\ndone in ${seconds.toFixed(0)} s; everything is in ${out}`);
  return { out, seconds, curation: c,
    train: { steps: trained.steps, trainLoss: trained.trainLoss, evalLoss: trained.evalLoss, baseEvalLoss: trained.baseEvalLoss,
      tokensPerSecond: trained.tokensPerSecond },
    eval: {
      passed: gate.passed, reasons: gate.reasons, checks: gate.checks.map((c) => ({ check: c.check, task: c.task, passed: c.passed })),
      tasks: rows,
      parity: evaluated.report.parity?.paths.map((p) => ({ name: p.name, status: p.status, description: p.description,
        max_rel_logit_diff: p.max_rel_logit_diff ?? null, tokens_identical: p.tokens_identical ?? null })) ?? [],
    },
    adapterRef: ref, alias, generations: PROMPTS.map((p, i) => ({ prompt: p, base: bt[i], adapter: at[i] })) };
}
