// Crafted bad inputs: every rejection reason lands in rejects.jsonl with its file:line, and the report's
// equation input = kept + rejected + removed + duplicates holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { curate, checkRoleOrder, parseFieldMap, toRecord } from '../../src/data/index.js';
import { isLorakitError } from '../../src/errors.js';
import { readJsonl, tempDir } from './helpers.js';

const good = (i: number): string =>
  JSON.stringify({ text: `Record number ${i} is a perfectly fine sentence about the weather in the town of ${i}.` });

test('JSONL: each rejection reason is reported with file:line', async () => {
  const dir = tempDir();
  const file = join(dir, 'in.jsonl');
  const lines: (string | Buffer)[] = [
    good(1),                                                                                   // 1 kept
    '{bad json',                                                                               // 2
    '[1, 2]',                                                                                  // 3
    '{"body": "no known field"}',                                                              // 4
    '{"text": 42}',                                                                            // 5
    '{"text": "   "}',                                                                         // 6
    '{"messages": [{"role": "robot", "content": "hi"}]}',                                      // 7
    '{"messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "yo"}]}', // 8
    '',                                                                                        // 9 blank: not a record
    Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),                 // 10 invalid UTF-8
    '{"text": "\\u200b\\u200b"}',                                                              // 11 only zero-width chars
    JSON.stringify({ text: 'x'.repeat(400) }),                                                 // 12 over maxRecordBytes
    '{"prompt": "Say hi", "completion": ""}',                                                  // 13
    '{"messages": [{"role": "user", "content": "Hello, who are you?"}]}',                      // 14 last is not assistant
    good(2),                                                                                   // 15 kept
  ];
  writeFileSync(file, Buffer.concat(lines.map((l) => Buffer.concat([typeof l === 'string' ? Buffer.from(l) : l, Buffer.from('\n')]))));
  const out = join(dir, 'out');
  const r = await curate({ inputs: [file], outDir: out, maxRecordBytes: 300, evalFraction: 0 });
  const rejects = readJsonl<{ loc: string; reason: string; detail: string }>(join(out, 'rejects.jsonl'));
  assert.deepEqual(rejects.map((x) => [x.loc, x.reason]), [
    [`${file}:2`, 'bad_json'], [`${file}:3`, 'not_an_object'], [`${file}:4`, 'unknown_schema'], [`${file}:5`, 'wrong_type'],
    [`${file}:6`, 'empty_field'], [`${file}:7`, 'bad_role'], [`${file}:8`, 'roles_out_of_order'], [`${file}:10`, 'invalid_utf8'],
    [`${file}:11`, 'empty_after_normalize'], [`${file}:12`, 'too_large'], [`${file}:13`, 'empty_field'], [`${file}:14`, 'roles_out_of_order'],
  ]);
  assert.match(rejects[3].detail, /'text'/);
  assert.equal(r.counts.input, 14);
  assert.equal(r.counts.kept, 2);
  assert.equal(r.counts.rejected, 12);
  assert.equal(r.rejectedByReason.roles_out_of_order, 2);
  const c = r.counts;
  assert.equal(c.input, c.kept + c.rejected + c.removed + c.exactDuplicates + c.nearDuplicates);
  assert.ok(r.balanced);
  // atomic outputs: no temp or spool files are left behind (.lorakit-out.json marks the folder as curate's, util/out-dir.ts)
  assert.deepEqual(readdirSync(out).sort(), ['.lorakit-out.json',
    'eval.jsonl', 'rejects.jsonl', 'removed.jsonl', 'report.html', 'report.json', 'report.md', 'train.jsonl']);
  assert.deepEqual(readJsonl(join(out, 'train.jsonl')).map((x) => Object.keys(x)), [['text'], ['text']]);
});

test('CSV: quoted fields with commas, quotes and newlines; wrong field counts and an open quote are rejected', async () => {
  const dir = tempDir();
  const file = join(dir, 'qa.csv');
  writeFileSync(file, [
    'question,answer,id',                                                                     // 1 header
    '"What is the capital of France, please?","Paris is the capital of France.",1',          // 2
    '"Write a ""quoted"" word","Here it is: ""word"", as asked.\nAnd a second line of the answer.",2', // 3-4
    'only,two',                                                                              // 5 bad_csv
    '"How tall is the tower of the city?","It is very tall indeed.",4',                      // 6
    '"open quote never closes,ans,5',                                                        // 7 bad_csv at EOF
  ].join('\n') + '\n');
  const out = join(dir, 'out');
  const r = await curate({ inputs: [file], outDir: out, fieldMap: parseFieldMap(['prompt=question,completion=answer']), evalFraction: 0 });
  const rejects = readJsonl<{ loc: string; reason: string }>(join(out, 'rejects.jsonl'));
  assert.deepEqual(rejects.map((x) => [x.loc, x.reason]), [[`${file}:5`, 'bad_csv'], [`${file}:7`, 'bad_csv']]);
  const train = readJsonl<{ prompt: string; completion: string }>(join(out, 'train.jsonl'));
  assert.equal(train.length, 3);
  assert.equal(train[1].prompt, 'Write a "quoted" word');
  assert.equal(train[1].completion, 'Here it is: "word", as asked.\nAnd a second line of the answer.');
  assert.equal(r.counts.input, 5);
  assert.ok(r.balanced);
});

test('text files: one record per file, paragraph or line', async () => {
  const dir = tempDir();
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'First paragraph has some words in it.\nStill the first.\n\n\nSecond paragraph is here and has words.\n');
  for (const [unit, n] of [['file', 1], ['paragraph', 2], ['line', 3]] as const) {
    const out = join(dir, 'out'); // inside the input folder: its files from the previous unit must not be read back
    const r = await curate({ inputs: [dir], format: 'txt', txtUnit: unit, outDir: out, evalFraction: 0, minTokens: 1, language: 'off' });
    assert.equal(r.counts.input, n, unit);
    assert.equal(r.counts.kept, n, unit);
    assert.deepEqual(r.examples.rejected, {});
    assert.deepEqual(r.inputs.map((f) => f.file), [file]); // earlier runs' out-*/report.md are not read back
  }
});

test('toRecord: field mapping, types and role order', () => {
  assert.deepEqual(toRecord({ body: 'hello' }, { text: 'body' }), { ok: true, record: { text: 'hello' } });
  assert.deepEqual(toRecord({ q: 'a', a: 'b' }, parseFieldMap(['prompt=q,completion=a'])), { ok: true, record: { prompt: 'a', completion: 'b' } });
  assert.equal((toRecord({ prompt: 'a' }) as { reason: string }).reason, 'unknown_schema');
  assert.equal((toRecord({ messages: 'x' }) as { reason: string }).reason, 'wrong_type');
  assert.equal((toRecord({ messages: [] }) as { reason: string }).reason, 'empty_field');
  assert.equal(checkRoleOrder(['system', 'user', 'assistant', 'user', 'assistant']), null);
  assert.match(checkRoleOrder(['system'])!, /no user/);
  assert.match(checkRoleOrder(['user', 'system', 'assistant'])!, /message 1/);
  assert.throws(() => parseFieldMap(['label=x']), /bad field mapping/);
});

test('bad options and missing inputs are LorakitErrors with codes', async () => {
  const dir = tempDir();
  await assert.rejects(curate({ inputs: [join(dir, 'nope.jsonl')], outDir: join(dir, 'o') }), (e) => isLorakitError(e, 'LK_IO'));
  writeFileSync(join(dir, 'a.jsonl'), good(1) + '\n');
  await assert.rejects(curate({ inputs: [join(dir, 'a.jsonl')], outDir: join(dir, 'o'), nearDupThreshold: 0 }), (e) => isLorakitError(e, 'LK_ARG'));
  await assert.rejects(curate({ inputs: [join(dir, 'a.jsonl')], outDir: join(dir, 'o'), evalFraction: 1 }), (e) => isLorakitError(e, 'LK_ARG'));
  writeFileSync(join(dir, 'arr.json'), '[\n  {"text": "a"}\n]\n');
  await assert.rejects(curate({ inputs: [join(dir, 'arr.json')], outDir: join(dir, 'o') }), (e) => isLorakitError(e, 'LK_DATA'));
  writeFileSync(join(dir, 'a.xyz'), 'x');
  await assert.rejects(curate({ inputs: [join(dir, 'a.xyz')], outDir: join(dir, 'o') }), (e) => isLorakitError(e, 'LK_ARG'));
});
