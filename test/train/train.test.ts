// Training behaviour users rely on: bad rows reported with file:line (and the run stops unless --skip-invalid),
// completions-only loss, a SIGKILLed run resumed from its checkpoint ends with the same adapter (1e-6) and a
// metrics.jsonl that holds each step once, and the held-out loss of a real fine-tune falls below the base's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { trainAdapter } from '../../src/train/trainer.js';
import { loadTrainingData } from '../../src/train/data.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';
import { openSafetensors } from '../../src/models/safetensors.js';
import { isLorakitError } from '../../src/errors.js';
import { readSotu } from '../../src/data/corpora/sotu.js';
import { CLI } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-train-'));
const model = writeTinyModel(join(tmp, 'model'), { hidden: 48, seed: 5 });

test('bad rows: each reported with file:line and a reason; the run stops unless skipInvalid', async () => {
  const data = join(tmp, 'bad.jsonl');
  writeFileSync(data, [
    JSON.stringify({ prompt: 'Q: 1+1?', completion: ' 2' }),
    '{"prompt": "unterminated',
    JSON.stringify({ question: 'wrong schema' }),
    JSON.stringify({ prompt: 'Q', completion: '   ' }),
    JSON.stringify({ text: 'x'.repeat(400) }),
    JSON.stringify({ messages: [{ role: 'assistant', content: 'hi' }, { role: 'assistant', content: 'again' }] }),
    JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }),
  ].join('\n'));
  const tok = await loadTokenizer(model);
  const d = await loadTrainingData(data, tok, { maxLength: 128, trainOnInputs: false, truncate: false });
  assert.equal(d.rows, 7);
  assert.equal(d.samples.length, 2);
  assert.deepEqual(
    d.invalid.map((i) => [i.source.split(':').pop(), i.kind]),
    [['2', 'json'], ['3', 'schema'], ['4', 'empty'], ['5', 'too_long'], ['6', 'schema']],
  );
  assert.match(d.invalid[3].reason, /401 tokens, longer than max length 128/);
  // Completion-only targets: the prompt tokens are not targets, the completion and EOS are.
  const pc = d.samples[0];
  const promptLen = tok.encode('Q: 1+1?').length;
  assert.deepEqual(pc.target.slice(0, promptLen), new Array(promptLen).fill(false));
  assert.ok(pc.target.slice(promptLen).every(Boolean));
  // Chat rows: only the assistant turn (and its end marker) are targets.
  const chat = d.samples[1];
  const targetText = tok.decode(chat.ids.filter((_, i) => chat.target[i]));
  assert.equal(targetText, 'hello<|end|>\n');
  const cfg = resolveTrainConfig({ model, data, out: join(tmp, 'bad-adapter'), maxLength: 128, maxSteps: 1 });
  await assert.rejects(
    trainAdapter(cfg),
    (e: unknown) =>
      isLorakitError(e, 'LK_DATA_ROW') && e.message.includes(`${data}:2`) && /5 of 7 rows/.test(e.message),
  );
  const ok = await trainAdapter({ ...cfg, skipInvalid: true, evalFraction: 0 });
  assert.equal(ok.invalid, 5);
  assert.equal(ok.steps, 1);
});

function writeText(file: string, n: number): void {
  const words = 'the people of the united states congress shall make law for the union and its government'.split(' ');
  writeFileSync(
    file,
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ text: Array.from({ length: 40 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ') }),
    ).join('\n'),
  );
}

function runCli(
  args: string[],
  killAtStep?: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; lastStep: number; tail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, 'train', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LORAKIT_THREADS: '1' },
    });
    let buf = '', lastStep = 0, tail = '';
    child.stderr.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      tail = (tail + chunk.toString()).slice(-2000);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /"done":(\d+)/.exec(line);
        if (m) lastStep = Number(m[1]);
        if (killAtStep !== undefined && lastStep >= killAtStep) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, lastStep, tail }));
  });
}

interface MetricRow { readonly step: number; readonly loss?: number; readonly eval_loss?: number }
const metricRows = (runDir: string): MetricRow[] =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as MetricRow);
const newestCheckpointStep = (runDir: string): number =>
  Math.max(0, ...readdirSync(join(runDir, 'checkpoints')).map((n) => Number(/^step-(\d+)$/.exec(n)?.[1] ?? 0)));

/**
 * metrics.jsonl after a kill and --resume: every step exactly once, in order (step 0 is the base model's held-out
 * loss), with the values of the uninterrupted run.
 */
function assertMetricsOnce(full: readonly MetricRow[], resumed: readonly MetricRow[]): void {
  const steps = resumed.map((r) => r.step);
  assert.deepEqual(steps, Array.from({ length: 61 }, (_, i) => i), `step column of the resumed run: ${steps.join(',')}`);
  assert.deepEqual(resumed.map((r) => r.eval_loss !== undefined), full.map((r) => r.eval_loss !== undefined), 'evaluations at the same steps');
  resumed.forEach((r, i) => {
    assert.ok(Math.abs((r.loss ?? 0) - (full[i].loss ?? 0)) <= 1e-4, `step ${r.step}: loss ${r.loss} vs ${full[i].loss}`);
  });
}

/** Trains to 60 steps uninterrupted, and again killed at step 10 then resumed; returns the largest difference. */
async function killAndResume(tag: string, extra: readonly string[]): Promise<number> {
  const data = join(tmp, 'resume.jsonl');
  writeText(data, 48);
  const common = [
    '--model', model, '--data', data, '--max-steps', '60', '--batch-size', '4', '--lr', '5e-3', '--warmup-steps', '3',
    '--save-every', '4', '--eval-every', '6', '--seed', '3', '--dropout', '0.1', '--json', '--no-track',
    '--threads', '1', ...extra,
  ];
  const full = await runCli([...common, '--out', join(tmp, `full-${tag}`)]);
  assert.equal(full.code, 0, full.tail);
  // 60 steps and a kill at step 10 leave a wide margin: the child cannot finish before the signal lands.
  const killed = await runCli([...common, '--out', join(tmp, `resumed-${tag}`)], 10);
  assert.equal(killed.signal, 'SIGKILL', 'the first run must really be killed');
  assert.ok(killed.lastStep < 60);
  // The kill left rows past the newest checkpoint: the steps the resumed run does again (a repeat without the trim).
  const runDir = join(tmp, `resumed-${tag}.run`);
  const ckStep = newestCheckpointStep(runDir);
  assert.ok(metricRows(runDir).some((r) => r.step > ckStep), `no metrics row after the checkpoint at step ${ckStep}`);
  const resumed = await runCli([...common, '--out', join(tmp, `resumed-${tag}`), '--resume']);
  assert.equal(resumed.code, 0, resumed.tail);
  assertMetricsOnce(metricRows(join(tmp, `full-${tag}.run`)), metricRows(runDir));
  const a = openSafetensors(join(tmp, `full-${tag}`, 'adapter_model.safetensors')),
    b = openSafetensors(join(tmp, `resumed-${tag}`, 'adapter_model.safetensors'));
  let maxDiff = 0;
  for (const name of a.tensors.keys()) {
    const x = a.readFloat32(name), y = b.readFloat32(name);
    for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
  }
  a.close(); b.close();
  return maxDiff;
}

test('a run killed with SIGKILL and resumed (LoRA dropout on) ends with the same adapter as an uninterrupted run (1e-6)', async () => {
  const maxDiff = await killAndResume('float', []);
  assert.ok(maxDiff <= 1e-6, `resumed adapter differs by ${maxDiff}`);
});

test('QLoRA: the same SIGKILL + resume on an int4 base ends with the same adapter (1e-6)', async () => {
  const maxDiff = await killAndResume('int4', ['--quantize', 'int4', '--quant-block', '16']);
  assert.ok(maxDiff <= 1e-6, `resumed QLoRA adapter differs by ${maxDiff}`);
});

test('a real fine-tune on State of the Union text: held-out loss falls clearly below the base', async () => {
  // ~300-character chunks of sentences from the addresses since 1990.
  const paras = readSotu({ fromYear: 1990 })
    .flatMap((s) => s.text.match(/[^.!?]+[.!?]+(\s+[^.!?]+[.!?]+){0,2}/g) ?? [])
    .map((p) => p.trim())
    .filter((p) => p.length > 80 && p.length < 400)
    .slice(0, 160);
  const data = join(tmp, 'sotu.jsonl');
  writeFileSync(data, paras.map((text) => JSON.stringify({ text })).join('\n'));
  const r = await trainAdapter(
    resolveTrainConfig({
      model,
      data,
      out: join(tmp, 'sotu'),
      maxLength: 128,
      truncate: true,
      rank: 8,
      targetModules: ['all-linear'],
      lr: 1e-2,
      maxSteps: 30,
      batchSize: 8,
      evalFraction: 0.1,
      seed: 1,
    }),
  );
  assert.ok(r.baseEvalLoss !== null && r.evalLoss !== null);
  assert.ok(r.evalLoss! < r.baseEvalLoss! - 0.5, `held-out loss ${r.baseEvalLoss} → ${r.evalLoss}`);
});
