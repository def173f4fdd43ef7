// lorakit train: LoRA fine-tuning with a progress bar, metrics.jsonl and a tracked run; flags mirror TrainConfig
// one to one (a config field without a flag does not compile), and --config FILE (YAML/JSON) fills the rest.
// --eval-suite runs `lorakit eval` on the result in the same process, so that its "train" parity path uses the
// trainer's in-memory adapter (issue 13); the report goes to <run dir>/eval and a failed gate exits 3.
import { join } from 'node:path';
import { defineCommand, type Flags } from '../command.js';
import { finiteNumber, nonNegativeInt, oneOf, positiveInt } from '../parse.js';
import { LorakitError } from '../../errors.js';
import type { TrainConfig } from '../../train/config.js';
import { trainDefaults, trainHelp } from '../../train/config.js';
import { quantFlags } from '../quant-flags.js';

export type TrainFlags = { [K in keyof TrainConfig]: TrainConfig[K] | undefined }
  & { config: string | undefined; resume: boolean; overwrite: boolean; json: boolean; noTrack: boolean; evalSuite: string | undefined };

const list = (raw: string): string[] => raw.split(',').map((s) => s.trim()).filter(Boolean);
const intList = (raw: string, flag: string): number[] => list(raw).map((x) => nonNegativeInt(x, flag));
const jsonMap = (raw: string, flag: string): Record<string, number> => {
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, number>;
  } catch { /* reported below */ }
  throw new LorakitError('LK_ARG', `'${flag}' must be a JSON object like {"q_proj": 16}, got '${raw}'`);
};
const h = (k: keyof TrainConfig): string => {
  const d = trainDefaults[k];
  const hasDefault = d !== '' && d !== null && !(Array.isArray(d) && (d as unknown[]).length === 0);
  return `${trainHelp[k]}${hasDefault ? ` [default: ${JSON.stringify(d)}]` : ''}`;
};

const flags: Flags<TrainFlags> = {
  model: { arg: '<dir>', help: h('model') },
  data: { arg: '<file>', help: h('data') },
  evalData: { arg: '<file>', help: h('evalData') },
  evalFraction: { arg: '<f>', help: h('evalFraction'), parse: finiteNumber },
  out: { arg: '<dir>', help: h('out'), short: 'o' },
  runDir: { arg: '<dir>', help: h('runDir') },
  rank: { arg: '<r>', help: h('rank'), parse: positiveInt, short: 'r' },
  alpha: { arg: '<a>', help: h('alpha'), parse: finiteNumber },
  dropout: { arg: '<p>', help: h('dropout'), parse: finiteNumber },
  targetModules: { arg: '<names>', help: h('targetModules'), parse: list },
  rslora: { help: h('rslora') },
  layersToTransform: { arg: '<i,j,..>', help: h('layersToTransform'), parse: intList },
  rankPattern: { arg: '<json>', help: h('rankPattern'), parse: jsonMap },
  alphaPattern: { arg: '<json>', help: h('alphaPattern'), parse: jsonMap },
  init: { arg: '<kind>', help: h('init'), parse: oneOf(['kaiming', 'gaussian'] as const) },
  lr: { arg: '<lr>', help: h('lr'), parse: finiteNumber },
  weightDecay: { arg: '<wd>', help: h('weightDecay'), parse: finiteNumber },
  beta1: { arg: '<b1>', help: h('beta1'), parse: finiteNumber },
  beta2: { arg: '<b2>', help: h('beta2'), parse: finiteNumber },
  warmupSteps: { arg: '<n>', help: h('warmupSteps'), parse: nonNegativeInt },
  schedule: { arg: '<kind>', help: h('schedule'), parse: oneOf(['cosine', 'linear', 'constant'] as const) },
  epochs: { arg: '<n>', help: h('epochs'), parse: positiveInt },
  maxSteps: { arg: '<n>', help: h('maxSteps'), parse: positiveInt },
  batchSize: { arg: '<n>', help: h('batchSize'), parse: positiveInt },
  gradAccum: { arg: '<n>', help: h('gradAccum'), parse: positiveInt },
  maxGradNorm: { arg: '<x>', help: h('maxGradNorm'), parse: finiteNumber },
  maxLength: { arg: '<n>', help: h('maxLength'), parse: positiveInt },
  packing: { help: h('packing') },
  quantize: quantFlags.quantize,
  quantBlock: quantFlags.quantBlock,
  quantZeroPoint: quantFlags.quantZeroPoint,
  quantAccuracy: quantFlags.quantAccuracy,
  qloraMode: { arg: '<mode>', help: h('qloraMode'), parse: oneOf(['fast', 'low-memory'] as const) },
  trainOnInputs: { help: h('trainOnInputs') },
  truncate: { help: h('truncate') },
  skipInvalid: { help: h('skipInvalid') },
  seed: { arg: '<n>', help: h('seed'), parse: nonNegativeInt },
  evalEvery: { arg: '<n>', help: h('evalEvery'), parse: nonNegativeInt },
  earlyStoppingPatience: { arg: '<n>', help: h('earlyStoppingPatience'), parse: nonNegativeInt },
  saveEvery: { arg: '<n>', help: h('saveEvery'), parse: nonNegativeInt },
  threads: { arg: '<n>', help: h('threads'), parse: positiveInt },
  gradientCheckpointing: { help: h('gradientCheckpointing') },
  config: { arg: '<file>', help: 'YAML or JSON file with any of these settings (flags win over the file)' },
  resume: { help: 'continue from the newest checkpoint in the run folder (same flags); a finished run is left as it is' },
  overwrite: { help: 'replace a non-empty --out folder train did not write (never --model, --data or --eval-data)' },
  noTrack: { help: 'do not record the run in the experiment tracker (LORAKIT_HOME)' },
  evalSuite: { arg: '<file|name>', help: 'then evaluate the adapter with this suite, as lorakit eval does (report: <run dir>/eval; exit 3: failed)' },
  json: { help: 'one JSON line per step on stderr and a JSON result on stdout' },
};

export const train = defineCommand<TrainFlags>({
  name: 'train',
  summary: 'Fine-tune a LoRA adapter on a JSONL dataset (PEFT adapter out)',
  example: 'lorakit train --model models/tiny-llama --data data/train.jsonl --out adapters/support-v1 --rank 16 --target-modules q_proj,v_proj',
  flags,
  async run(f, io) {
    const { readTrainConfigFile, resolveTrainConfig } = await import('../../train/config.js');
    const { formatCount, trainOutRule } = await import('../../train/trainer.js');
    const { trainTracked } = await import('../tracked-train.js');
    const { startTracking } = await import('../tracking.js');
    const { checkOutDir } = await import('../../util/out-dir.js');
    const { config: file, resume, overwrite, json: _json, noTrack, evalSuite, ...rest } = f;
    const cfg = resolveTrainConfig(file ? readTrainConfigFile(file) : {}, rest as Partial<TrainConfig>);
    checkOutDir(cfg.out, trainOutRule(cfg, overwrite)); // before a tracked run is started
    // A bad suite is refused before any training time is spent; the base is loaded once for both.
    const ev = evalSuite === undefined ? null : await import('../../eval/index.js');
    const suite = ev ? ev.loadSuite(evalSuite!) : null;
    const { loadCheckpoint } = await import('../../models/checkpoint.js');
    const base = suite ? await loadCheckpoint(cfg.model, { tokenizer: true }) : undefined;
    const run = noTrack ? null : await startTracking('train', cfg as unknown as Record<string, unknown>, cfg.out);
    const result = await trainTracked(cfg, io, run, {
      resume, overwrite, base, showLr: true,
      describe(i) {
        const share = ((100 * i.trainable) / i.total).toFixed(2);
        io.log(`trainable parameters: ${formatCount(i.trainable)} of ${formatCount(i.total)} (${share}%), r=${i.lora.r}, alpha=${i.lora.lora_alpha}`);
        io.log(`adapted modules (${i.modules.length}): ${i.modules.slice(0, 6).join(', ')}${i.modules.length > 6 ? ', …' : ''}`);
        io.log(
          `data: ${i.trainSamples} train / ${i.evalSamples} held-out samples` +
            `${i.invalid.length ? `, ${i.invalid.length} invalid rows skipped` : ''}${i.truncated ? `, ${i.truncated} truncated` : ''}`,
        );
        for (const bad of i.invalid.slice(0, 5)) io.stderr.write(`  skipped ${bad.source}: ${bad.reason}\n`);
        if (i.resumedFromStep !== null) io.log(`resuming from step ${i.resumedFromStep}`);
        if (i.resume === 'no-checkpoint') {
          const note = `--resume: no checkpoint in '${i.runDir}'; starting a fresh run from step 0`;
          if (io.json) io.stderr.write(JSON.stringify({ event: 'resume', status: 'no-checkpoint', runDir: i.runDir, message: note }) + '\n');
          else io.stderr.write(`note: ${note}\n`);
        }
      },
    });
    if (result.resume === 'already-complete') {
      const note = `run already complete (${result.steps} steps); nothing to train. The adapter in ${result.adapterDir} is unchanged`;
      io.done({ ...result, runId: run?.id ?? null }, note);
      return;
    }
    const baseLoss = result.baseEvalLoss !== null ? `${result.baseEvalLoss.toFixed(3)} → ` : '';
    const evalPart = result.evalLoss !== null ? `, held-out loss ${baseLoss}${result.evalLoss.toFixed(3)}` : '';
    const { adapter, ...json } = result;
    const line = `adapter written to ${result.adapterDir} (${result.steps} steps, train loss ${result.trainLoss.toFixed(3)}${evalPart}, `
      + `${Math.round(result.tokensPerSecond)} tok/s)`;
    if (!ev || !suite) { io.done({ ...json, runId: run?.id ?? null }, line); return; }
    io.log(line);
    const { serverParityPath, EXIT_GATE_FAILED } = await import('./eval.js');
    let evalBar: { key: string; bar: ReturnType<typeof io.progress> } | null = null;
    const { report, items } = await ev.evaluate({
      modelDir: cfg.model, suite, adapterDir: result.adapterDir, base, threads: cfg.threads ?? undefined,
      trainedAdapter: adapter, // the "train" parity path runs the tensors the optimizer updated
      parityPaths: (ctx) => serverParityPath(ctx),
      onProgress: (e) => {
        const key = `${e.phase}:${e.task ?? ''}:${e.model ?? ''}`;
        const label = `eval ${e.task ?? e.phase}${e.model ? ` (${e.model})` : ''}`;
        if (evalBar?.key !== key) { evalBar?.bar.finish(); evalBar = { key, bar: io.progress({ total: e.total, label, unit: 'item' }) }; }
        evalBar.bar.tick(e.done);
      },
    });
    (evalBar as { bar: ReturnType<typeof io.progress> } | null)?.bar.finish();
    const files = ev.writeEvalReport(join(result.runDir, 'eval'), report, items);
    const code = report.gate.applied && !report.passed ? EXIT_GATE_FAILED : 0;
    if (code !== 0) io.stderr.write(`train: the '${report.suite}' gate FAILED:\n${report.gate.reasons.map((r) => `  - ${r}`).join('\n')}\n`);
    io.done({ ...json, runId: run?.id ?? null, eval: { report, files, exit_code: code } }, `${report.summary}\nreport: ${files.markdown}`);
    return code;
  },
});
