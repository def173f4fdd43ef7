// Issue 13: `train --resume` says what it found. No checkpoint: it says it starts fresh (a line, and a JSON event
// plus `resume: "no-checkpoint"` with --json). A finished run: it says the run is complete and trains nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { createIO } from '../../src/cli/io.js';
import { parseArgs } from '../../src/cli/parse.js';
import { train } from '../../src/cli/commands/train.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-resume-'));
const model = writeTinyModel(join(tmp, 'model'), { seed: 9 });
const data = join(tmp, 'train.jsonl');
writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ prompt: `Q${i}?`, completion: ` A${i}.` })).join('\n') + '\n');

async function runTrain(out: string, ...more: string[]): Promise<{ result: Record<string, unknown>; stderr: string; stdout: string }> {
  const so: string[] = [], se: string[] = [];
  const stdout = new Writable({ write(c, _e, cb) { so.push(String(c)); cb(); } });
  const stderr = new Writable({ write(c, _e, cb) { se.push(String(c)); cb(); } });
  const argv = ['--model', model, '--data', data, '--out', out, '--max-steps', '3', '--save-every', '1', '--eval-fraction', '0', '--max-length', '64',
    '--no-track', '--threads', '1', ...more];
  const json = !more.includes('--human');
  const p = parseArgs(train, json ? [...argv, '--json'] : argv.filter((a) => a !== '--human'));
  await train.run(p.flags, createIO(json, stdout, stderr), p.positionals);
  return { result: json ? JSON.parse(so.join('')) as Record<string, unknown> : {}, stderr: se.join(''), stdout: so.join('') };
}

test('--resume with no checkpoint says it starts fresh, in the JSON result and as a JSON event', async () => {
  const r = await runTrain(join(tmp, 'fresh'), '--resume');
  assert.equal(r.result.resume, 'no-checkpoint');
  assert.equal(r.result.steps, 3);
  const events = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const ev = events.find((e) => e.event === 'resume');
  assert.ok(ev, `no resume event in ${r.stderr.slice(0, 400)}`);
  assert.equal(ev.status, 'no-checkpoint');
  assert.equal(ev.runDir, join(tmp, 'fresh.run'));
  const human = await runTrain(join(tmp, 'fresh-human'), '--resume', '--human');
  assert.match(human.stderr, /--resume: no checkpoint in '.*fresh-human\.run'; starting a fresh run from step 0/);
});

test('--resume on a finished run says it is complete and trains nothing', async () => {
  const out = join(tmp, 'done');
  const first = await runTrain(out);
  assert.equal(first.result.resume, 'off');
  const weights = readFileSync(join(out, 'adapter_model.safetensors'));
  const metrics = readFileSync(join(`${out}.run`, 'metrics.jsonl'), 'utf8');
  const again = await runTrain(out, '--resume');
  assert.equal(again.result.resume, 'already-complete');
  assert.equal(again.result.steps, 3);
  assert.equal(again.result.trainLoss, first.result.trainLoss);
  assert.ok(!/"done":/.test(again.stderr), 'no training step may run');
  assert.deepEqual(readFileSync(join(out, 'adapter_model.safetensors')), weights);
  assert.match((await runTrain(out, '--resume', '--human')).stdout, /run already complete \(3 steps\); nothing to train/);
  assert.equal(readFileSync(join(`${out}.run`, 'metrics.jsonl'), 'utf8'), metrics, 'metrics.jsonl gains no rows');
  // more steps than the finished run had: resuming trains again (from the newest checkpoint)
  const longer = await runTrain(out, '--resume', '--max-steps', '4');
  assert.equal(longer.result.resume, 'resumed');
  assert.equal(longer.result.steps, 4);
  // it resumed from the checkpoint at step 2, so the finished run's row for step 3 was dropped, not repeated
  const steps = readFileSync(join(`${out}.run`, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps, [1, 2, 3, 4]);
});
