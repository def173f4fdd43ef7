// Issue 14 item 3 / issue 13: `train` and `data curate` read and validate rows the same way. One table of good and
// bad rows goes through the training loader and through curation's reader + validator; both must give the
// table's verdict for every line (a BOM is stripped, invalid UTF-8 / empty prompts / rows over 8 MiB are rejected).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { checkInvalid, loadTrainingData } from '../../src/train/data.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';
import { readRecords } from '../../src/data/readers.js';
import { toRecord } from '../../src/data/validate.js';
import { MAX_RECORD_BYTES } from '../../src/data/types.js';
import { isLorakitError } from '../../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-agree-'));
const model = writeTinyModel(join(tmp, 'model'), { seed: 2 });
const j = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });

// The first row carries a UTF-8 BOM (as Windows editors write it).
const rows: { name: string; bytes: Buffer; ok: boolean }[] = [
  { name: 'BOM + text', bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), j({ text: 'hello world' })]), ok: true },
  { name: 'prompt/completion', bytes: j({ prompt: 'Q: 2+2?', completion: ' 4' }), ok: true },
  { name: 'chat', bytes: j({ messages: [user('hi'), assistant('hello')] }), ok: true },
  { name: 'chat with system', bytes: j({ messages: [{ role: 'system', content: 'be brief' }, user('hi'), assistant('yo')] }), ok: true },
  { name: 'multibyte UTF-8', bytes: j({ text: 'héllo ✓ 日本' }), ok: true },
  { name: 'a JSON string is a text row', bytes: j('plain text row'), ok: true },
  { name: 'empty prompt', bytes: j({ prompt: '', completion: ' 4' }), ok: false },
  { name: 'blank completion', bytes: j({ prompt: 'Q', completion: '   ' }), ok: false },
  { name: 'missing completion', bytes: j({ prompt: 'Q' }), ok: false },
  { name: 'blank text', bytes: j({ text: '  ' }), ok: false },
  { name: 'text not a string', bytes: j({ text: 5 }), ok: false },
  { name: 'invalid UTF-8', bytes: Buffer.concat([Buffer.from('{"text":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from(' byte"}')]), ok: false },
  { name: 'bad JSON', bytes: Buffer.from('{"prompt": "unterminated'), ok: false },
  { name: 'an array', bytes: j([1, 2]), ok: false },
  { name: 'unknown schema', bytes: j({ question: 'x' }), ok: false },
  { name: 'chat ends with user', bytes: j({ messages: [user('hi'), assistant('hello'), user('again')] }), ok: false },
  { name: 'chat starts with assistant', bytes: j({ messages: [assistant('hi'), user('hello')] }), ok: false },
  { name: 'chat role tool', bytes: j({ messages: [user('hi'), { role: 'tool', content: 'x' }] }), ok: false },
  { name: 'chat empty content', bytes: j({ messages: [user('hi'), assistant(' ')] }), ok: false },
  { name: 'over 8 MiB', bytes: j({ text: 'a'.repeat(MAX_RECORD_BYTES) }), ok: false },
];
const file = join(tmp, 'table.jsonl');
writeFileSync(file, Buffer.concat(rows.flatMap((r) => [r.bytes, Buffer.from('\n')])));
const expected = rows.map((r) => r.ok);

test('the training loader and curation give every row of the table the same verdict', async () => {
  const tok = await loadTokenizer(model);
  const t0 = performance.now();
  const d = await loadTrainingData(file, tok, { maxLength: 200, trainOnInputs: false, truncate: false });
  const ms = performance.now() - t0;
  const badTrain = new Set(d.invalid.map((i) => Number(i.source.split(':').pop())));
  const trainVerdict = rows.map((_, i) => !badTrain.has(i + 1));
  const badCurate = new Set<number>();
  for await (const item of readRecords({ file, format: 'jsonl', bytes: 0 }, { txtUnit: 'line', maxRecordBytes: MAX_RECORD_BYTES })) {
    if (item.kind === 'error' || !toRecord(item.value).ok) badCurate.add(item.loc.line);
  }
  const curateVerdict = rows.map((_, i) => !badCurate.has(i + 1));
  const table = (v: boolean[]): string[] => rows.map((r, i) => `${r.name}: ${v[i] ? 'ok' : 'rejected'}`);
  assert.deepEqual(table(trainVerdict), table(expected), 'train');
  assert.deepEqual(table(curateVerdict), table(expected), 'curate');
  assert.equal(d.rows, rows.length);
  assert.equal(d.samples.length, rows.filter((r) => r.ok).length);
  // The oversized row is refused from its byte count, unparsed and untokenized, and named by file:line.
  const big = d.invalid.find((i) => i.source === `${file}:${rows.length}`)!;
  assert.equal(big.kind, 'too_large');
  assert.ok(ms < 20_000, `loading took ${ms} ms`);
  const utf8 = d.invalid.find((i) => i.source === `${file}:${rows.findIndex((r) => r.name === 'invalid UTF-8') + 1}`)!;
  assert.equal(utf8.kind, 'encoding');
  assert.throws(() => checkInvalid(file, d, false), (e) => isLorakitError(e, 'LK_DATA_ROW') && e.message.includes(`${file}:7`));
});

test('a single 9 MB line fails fast with LK_DATA_ROW naming file:line', async () => {
  const tok = await loadTokenizer(model);
  const big = join(tmp, 'big.jsonl');
  writeFileSync(big, JSON.stringify({ text: 'word '.repeat(9 << 18) }));
  const t0 = performance.now();
  const d = await loadTrainingData(big, tok, { maxLength: 128, trainOnInputs: false, truncate: true });
  assert.ok(performance.now() - t0 < 10_000);
  assert.deepEqual(d.invalid.map((i) => [i.source, i.kind]), [[`${big}:1`, 'too_large']]);
  assert.throws(() => checkInvalid(big, d, false), (e) => isLorakitError(e, 'LK_DATA_ROW') && e.message.includes(`${big}:1`));
});
