// `lorakit data curate`: argv → typed flags with no side effects, and one in-process run with --json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { dataCurate } from '../../src/cli/commands/data-curate.js';
import { commands } from '../../src/cli/commands/index.js';
import { createIO } from '../../src/cli/io.js';
import { parseArgs } from '../../src/cli/parse.js';
import { isLorakitError } from '../../src/errors.js';
import { tempDir } from './helpers.js';

test('flags parse to typed values with defaults', () => {
  const p = parseArgs(dataCurate, [
    'a.jsonl', 'dir/', '--out', 'o', '--map', 'prompt=q,completion=a', '--near-dup-threshold', '0.7', '--redact-pii',
    '--eval-fraction', '0.2', '--seed', '3',
  ]);
  assert.deepEqual(p.positionals, ['a.jsonl', 'dir/']);
  assert.equal(p.flags.out, 'o');
  assert.deepEqual(p.flags.map, ['prompt=q,completion=a']);
  assert.equal(p.flags.nearDupThreshold, 0.7);
  assert.equal(p.flags.shingle, 5);
  assert.equal(p.flags.numPerm, 128);
  assert.equal(p.flags.redactPii, true);
  assert.equal(p.flags.stripBoilerplate, false);
  assert.equal(p.flags.evalFraction, 0.2);
  assert.equal(p.flags.seed, 3);
  assert.equal(p.flags.format, 'auto');
  assert.throws(() => parseArgs(dataCurate, ['x', '--near-dup-threshold', '1.5', '--out', 'o']), (e) => isLorakitError(e, 'LK_ARG'));
  assert.throws(() => parseArgs(dataCurate, ['x']), (e) => isLorakitError(e, 'LK_ARG')); // --out is required
  assert.ok(commands['data curate']);
});

test('lorakit data curate --json prints the report summary', async () => {
  const dir = tempDir();
  const file = join(dir, 'in.csv');
  writeFileSync(
    file,
    'q,a\n"What is the capital of France?","Paris is the capital of France."\n"What is the capital of Spain?","Madrid is the capital of Spain."\n',
  );
  const chunks: string[] = [];
  const sink = new Writable({ write(c, _enc, cb) { chunks.push(String(c)); cb(); } });
  const p = parseArgs(dataCurate, [file, '--out', join(dir, 'out'), '--map', 'prompt=q,completion=a', '--json']);
  await dataCurate.run(p.flags, createIO(true, sink, new Writable({ write(_c, _e, cb) { cb(); } })), p.positionals);
  const summary = JSON.parse(chunks.join('')) as { counts: { input: number; kept: number }; balanced: boolean };
  assert.equal(summary.counts.input, 2);
  assert.equal(summary.counts.kept, 2);
  assert.equal(summary.balanced, true);
});

test('--tokenizer DIR counts tokens with the model tokenizer and names it in the report', async (t) => {
  const tokDir = 'test/fixtures/models/gpt2-f32';
  if (!existsSync(join(tokDir, 'tokenizer.json'))) { t.skip('no tokenizer fixture'); return; }
  const dir = tempDir();
  const file = join(dir, 'in.jsonl');
  writeFileSync(file, JSON.stringify({ text: 'The quick brown fox jumps over the lazy dog near the river bank.' }) + '\n');
  const chunks: string[] = [];
  const sink = new Writable({ write(c, _enc, cb) { chunks.push(String(c)); cb(); } });
  const p = parseArgs(dataCurate, [file, '--out', join(dir, 'out'), '--tokenizer', tokDir, '--json']);
  await dataCurate.run(p.flags, createIO(true, sink, new Writable({ write(_c, _e, cb) { cb(); } })), p.positionals);
  const summary = JSON.parse(chunks.join('')) as { tokenCounter: string; counts: { kept: number } };
  assert.equal(summary.tokenCounter, `tokenizer: ${tokDir}`);
  assert.equal(summary.counts.kept, 1);
});
