// lorakit pretrain: full-parameter pretraining of a fresh Llama-architecture model (HF folder in BF16 + model card
// out). Flags mirror PretrainConfig one to one; --config takes an HF config.json instead of the size flags.
import { defineCommand, type Flags } from '../command.js';
import { existingFile, finiteNumber, nonNegativeInt, positiveInt } from '../parse.js';
import type { PretrainConfig } from '../../train/pretrain.js';
import { pretrainDefaults } from '../../train/pretrain-defaults.js';

type Sizes = 'hidden' | 'layers' | 'heads' | 'kvHeads' | 'intermediate' | 'maxPositions';
export type PretrainFlags = { [K in Exclude<keyof PretrainConfig, 'configFile' | 'commandLine' | 'corpus'>]: PretrainConfig[K] | undefined }
  & { corpus: string[]; config: string | undefined; resume: boolean; overwrite: boolean; noTrack: boolean; json: boolean };

const d = pretrainDefaults;
const sizeHelp: Record<Sizes, string> = {
  hidden: 'hidden size', layers: 'decoder layers', heads: 'attention heads', kvHeads: 'key/value heads (GQA; default = heads)',
  intermediate: 'MLP intermediate size (default ~8/3·hidden, multiple of 32)', maxPositions: 'max_position_embeddings written to config.json',
};

const flags: Flags<PretrainFlags> = {
  corpus: { arg: '<brown|file>', help: "'brown' (held-out files excluded from training) or a text file; repeatable", repeatable: true },
  tokenizer: { arg: '<dir>', help: 'tokenizer folder from `lorakit tokenizer train`', required: true },
  out: { arg: '<dir>', help: 'where to write the HF model folder', required: true, short: 'o' },
  runDir: { arg: '<dir>', help: 'checkpoints and metrics.jsonl [default: <out>.run]' },
  config: { arg: '<file>', help: 'HF config.json (LlamaForCausalLM, tied embeddings) instead of the size flags', parse: existingFile },
  hidden: { arg: '<n>', help: sizeHelp.hidden, default: d.hidden, parse: positiveInt },
  layers: { arg: '<n>', help: sizeHelp.layers, default: d.layers, parse: positiveInt },
  heads: { arg: '<n>', help: sizeHelp.heads, default: d.heads, parse: positiveInt },
  kvHeads: { arg: '<n>', help: sizeHelp.kvHeads, parse: positiveInt },
  intermediate: { arg: '<n>', help: sizeHelp.intermediate, parse: positiveInt },
  maxPositions: { arg: '<n>', help: sizeHelp.maxPositions, default: d.maxPositions, parse: positiveInt },
  steps: { arg: '<n>', help: 'optimizer steps', default: d.steps, parse: positiveInt },
  seq: { arg: '<n>', help: 'tokens per row', default: d.seq, parse: positiveInt },
  batch: { arg: '<n>', help: 'rows per step', default: d.batch, parse: positiveInt },
  lr: { arg: '<lr>', help: 'peak learning rate', default: d.lr, parse: finiteNumber },
  minLrRatio: { arg: '<f>', help: 'cosine decays to this fraction of --lr', default: d.minLrRatio, parse: finiteNumber },
  warmupSteps: { arg: '<n>', help: 'linear warmup steps', default: d.warmupSteps, parse: nonNegativeInt },
  weightDecay: { arg: '<wd>', help: 'AdamW weight decay on matrices (not embeddings or norms)', default: d.weightDecay, parse: finiteNumber },
  beta1: { arg: '<b1>', help: 'AdamW beta1', default: d.beta1, parse: finiteNumber },
  beta2: { arg: '<b2>', help: 'AdamW beta2', default: d.beta2, parse: finiteNumber },
  maxGradNorm: { arg: '<x>', help: 'global gradient-norm clip (0 = off)', default: d.maxGradNorm, parse: finiteNumber },
  seed: { arg: '<n>', help: 'init and shuffling seed', default: d.seed, parse: nonNegativeInt },
  evalEvery: { arg: '<n>', help: 'held-out validation loss every N steps (0 = at the end only)', default: d.evalEvery, parse: nonNegativeInt },
  evalRows: { arg: '<n>', help: 'held-out rows in the validation loss', default: d.evalRows, parse: nonNegativeInt },
  saveEvery: { arg: '<n>', help: 'checkpoint every N steps (0 = never)', default: d.saveEvery, parse: nonNegativeInt },
  threads: { arg: '<n>', help: 'ONNX Runtime intra-op threads', parse: positiveInt },
  docLimit: { arg: '<n>', help: 'use only the first N documents (for quick tries)', parse: positiveInt },
  pplStride: { arg: '<n>', help: 'stride of the held-out perplexity window [default: seq/2]', parse: positiveInt },
  samplePrompt: { arg: '<text>', help: 'prompt of the greedy sample in the model card', default: d.samplePrompt },
  resume: { help: 'continue from the newest checkpoint in the run folder (same flags)', default: false },
  overwrite: { help: 'replace a non-empty --out folder pretrain did not write (never --tokenizer, --config or a corpus file)', default: false },
  noTrack: { help: 'do not record the run in the experiment tracker (LORAKIT_HOME)', default: false },
  json: { help: 'one JSON line per step on stderr and a JSON result on stdout', default: false },
};

export const pretrainCmd = defineCommand<PretrainFlags>({
  name: 'pretrain',
  summary: 'Pretrain a small Llama-architecture model from scratch (all parameters)',
  example:
    'lorakit pretrain --corpus brown --tokenizer models/brown-tokenizer --out models/brown-llama --hidden 256 --layers 6 --heads 4 --steps 1800',
  flags,
  async run(f, io) {
    const { pretrain } = await import('../../train/pretrain.js');
    const { failRun, finishRun, startTracking } = await import('../tracking.js');
    const { formatDuration } = await import('../../util/progress.js');
    const { config, resume, overwrite, noTrack, json: _json, corpus, ...rest } = f;
    const commandLine = ['lorakit', 'pretrain', ...process.argv.slice(process.argv.indexOf('pretrain') + 1).filter((a) => a !== '--resume')]
      .map((a) => (/^[\w./=:,@+-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
    const cfg = { ...rest, corpus: corpus.length ? corpus : ['brown'], configFile: config, commandLine } as PretrainConfig;
    const run = noTrack ? null : await startTracking('pretrain', cfg as unknown as Record<string, unknown>, cfg.out);
    let bar: ReturnType<typeof io.progress> | null = null;
    const result = await pretrain(cfg, {
      onStart(i) {
        io.log(
          `parameters: ${i.parameters.toLocaleString('en-US')}; data: ${i.trainTokens.toLocaleString('en-US')} train tokens ` +
            `(${i.trainRows} rows), ${i.heldTokens.toLocaleString('en-US')} held-out tokens`,
        );
        io.log(
          `${i.totalSteps} steps × ${cfg.batch} × ${cfg.seq} = ${(i.totalSteps * cfg.batch * cfg.seq).toLocaleString('en-US')} tokens ` +
            `(${((i.totalSteps * cfg.batch * cfg.seq) / i.trainTokens).toFixed(2)} epochs)`,
        );
        if (i.resumedFromStep !== null) io.log(`resuming from step ${i.resumedFromStep}`);
        bar = io.progress({ total: i.totalSteps, label: 'pretrain', unit: 'step' });
        if (i.resumedFromStep) bar.tick(i.resumedFromStep);
      },
      onStep(m) {
        run?.logMetrics(m.step, {
          loss: m.loss,
          lr: m.lr,
          grad_norm: m.grad_norm,
          tokens_per_s: m.tokens_per_s,
          ...(m.eval_loss !== undefined ? { eval_loss: m.eval_loss } : {}),
        });
        bar?.tick(m.step, {
          loss: m.loss,
          lr: m.lr,
          'tok/s': Math.round(m.tokens_per_s),
          ...(m.eval_loss !== undefined ? { eval: m.eval_loss } : {}),
        });
      },
      onPhase(what) { io.stderr.write(`${what}\n`); },
    }, { resume, overwrite }).catch(failRun(run));
    (bar as ReturnType<typeof io.progress> | null)?.finish({ loss: result.trainLoss });
    run?.logArtifact('model', result.out, 'model');
    await finishRun(run, {
      train_loss: result.trainLoss, eval_loss: result.evalLoss, held_out_perplexity: result.heldOutPerplexity, steps: result.steps,
      parameters: result.parameters, tokens_per_s: result.tokensPerSecond,
    });
    io.done(
      { ...result, runId: run?.id ?? null },
      `model written to ${result.out}: ${result.parameters.toLocaleString('en-US')} parameters, ` +
        `${result.steps} steps in ${formatDuration(result.trainSeconds)} (${Math.round(result.tokensPerSecond)} tok/s), ` +
        `train loss ${result.trainLoss.toFixed(3)}, held-out perplexity ${result.heldOutPerplexity.toFixed(2)}\n` +
        `  sample: ${result.sample.prompt}${result.sample.text}`,
    );
  },
});
