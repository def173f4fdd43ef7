// The README's first command, proven: the quickstart's fast mode runs every step (curate, train, evaluate + gate,
// register, generate, serve instructions) on the bundled base model and leaves its outputs in one folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

test('npm run quickstart -- --fast: every step runs and leaves its outputs in one folder', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'lk-qs-')), 'qs');
  const r = spawnSync(process.execPath, ['bin/lorakit.js', 'quickstart', '--fast', '--out', out, '--json'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const summary = JSON.parse(r.stdout) as { train: { steps: number }; eval: { tasks: { task: string }[] }; adapterRef: string };
  assert.equal(summary.train.steps, 6);
  assert.deepEqual(summary.eval.tasks.map((t) => t.task).sort(), ['brown-cloze', 'brown-heldout', 'sotu-heldout']);
  assert.match(summary.adapterRef, /^sotu@v1$/);
  for (const f of ['data/train.jsonl', 'data/report.html', 'adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'eval/report.md', 'lorakit-home', 'run/metrics.jsonl']) {
    assert.ok(existsSync(join(out, f)), `missing ${f}`);
  }
  const peft = JSON.parse(readFileSync(join(out, 'adapter', 'adapter_config.json'), 'utf8')) as { peft_type: string };
  assert.equal(peft.peft_type, 'LORA');
});
