// `lorakit train --eval-suite`: training followed by evaluation in one process, so that the "train" parity path
// runs the trainer's in-memory adapter (issue 13), with the report in <run dir>/eval and exit 3 on a failed gate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../helpers/tiny-model.js';
import type { EvalReport } from '../../src/eval/index.js';
import { CLI } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-train-eval-'));
const sentences = (n: number, from: number): string => Array.from({ length: n }, (_, i) =>
  JSON.stringify({ text: `The people of the united states, in congress number ${from + i}, shall make law for the union and its government.` }),
).join('\n');

interface TrainOutput { eval?: { report: EvalReport; files: { json: string }; exit_code: number } }

function train(suite: string, out: string): { code: number | null; json: TrainOutput; stderr: string } {
  const model = join(tmp, 'model');
  const args = [...CLI, 'train', '--model', model, '--data', join(tmp, 'train.jsonl'), '--out', out, '--max-length', '128', '--lr', '0.01',
    '--max-steps', '12', '--batch-size', '8', '--eval-fraction', '0', '--threads', '1', '--no-track', '--eval-suite', suite, '--json'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, LORAKIT_HOME: join(tmp, 'home') } });
  let json = {};
  try { json = JSON.parse(r.stdout); } catch { /* asserted by the caller */ }
  return { code: r.status, json, stderr: r.stderr };
}

test('train --eval-suite evaluates the fresh adapter with its in-memory tensors on the train path; a failed gate exits 3', () => {
  writeTinyModel(join(tmp, 'model'), { hidden: 32, seed: 9 });
  writeFileSync(join(tmp, 'train.jsonl'), sentences(40, 0));
  writeFileSync(join(tmp, 'held.jsonl'), sentences(6, 100));
  const suite = (file: string, drop: number): string => {
    writeFileSync(join(tmp, file), ['name: congress', 'tasks:', '  - { name: congress, type: perplexity, tag: domain, source: held.jsonl }',
      `gate: { domain_perplexity_drop_pct: ${drop} }`, 'parity: { max_new_tokens: 4, probes: ["The people", "Congress shall"] }'].join('\n'));
    return join(tmp, file);
  };
  const ok = train(suite('pass.yaml', 5), join(tmp, 'adapter'));
  assert.equal(ok.code, 0, ok.stderr.slice(-3000));
  const report = ok.json.eval!.report;
  assert.equal(report.passed, true, report.gate.reasons.join('\n'));
  const statuses = [['train', 'reference'], ['adapter', 'ok'], ['merged', 'ok'], ['server', 'ok']];
  assert.deepEqual(report.parity!.paths.map((p) => [p.name, p.status]), statuses);
  assert.match(report.parity!.paths[0].description, /the trainer's in-memory adapter/);
  assert.equal(ok.json.eval!.files.json, join(tmp, 'adapter.run', 'eval', 'report.json'));
  assert.ok(existsSync(ok.json.eval!.files.json));
  assert.equal((JSON.parse(readFileSync(ok.json.eval!.files.json, 'utf8')) as EvalReport).adapter!.fingerprint, report.adapter!.fingerprint);
  const bad = train(suite('strict.yaml', 99), join(tmp, 'adapter2'));
  assert.equal(bad.code, 3, bad.stderr.slice(-3000));
  assert.match(bad.stderr, /train: the 'congress' gate FAILED:\n {2}- domain perplexity of 'congress' fell .* needs to fall by at least 99%/);
  // A suite that cannot be read is refused before any training.
  const none = train(join(tmp, 'none.yaml'), join(tmp, 'adapter3'));
  assert.equal(none.code, 1);
  assert.ok(!existsSync(join(tmp, 'adapter3')));
});
