// The --out rule (src/util/out-dir.ts) on its own: real paths through symlinks, sibling names that share a prefix,
// another verb's marker, a folder that appears while the verb runs, and a failed fill that leaves the old folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { beginOutDir, checkOutDir, OUT_MARKER, outMarkerVerb, writeOutDir } from '../../src/util/out-dir.js';
import { isLorakitError } from '../../src/errors.js';

const code = (f: () => unknown): string | null => {
  try { f(); return null; } catch (e) { if (isLorakitError(e)) return e.code; throw e; }
};

test('inputs are compared as real paths; a sibling that only shares a prefix is not an input', () => {
  const root = mkdtempSync(join(tmpdir(), 'lk-outdir-'));
  const model = join(root, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'model.safetensors'), 'weights');
  symlinkSync(model, join(root, 'link'));
  const inputs = [{ flag: '--model', path: model }];
  assert.equal(code(() => checkOutDir(join(root, 'link'), { verb: 'merge', inputs, overwrite: true })), 'LK_OUT_IS_INPUT');
  assert.equal(code(() => checkOutDir(join(root, 'link', 'sub'), { verb: 'merge', inputs })), 'LK_OUT_IS_INPUT');
  assert.equal(code(() => checkOutDir(model, { verb: 'merge', inputs: [{ flag: '--model', path: join(root, 'link') }] })), 'LK_OUT_IS_INPUT');
  assert.equal(code(() => checkOutDir(join(root, 'model-2'), { verb: 'merge', inputs })), null);
  assert.equal(
    code(() =>
      checkOutDir(join(model, 'out'), {
        verb: 'data curate',
        inputs: [{ flag: 'input', path: model, outMayBeInside: true }],
      }),
    ),
    null,
  );
  assert.equal(code(() => checkOutDir(root,
    { verb: 'data curate', inputs: [{ flag: 'input', path: model, outMayBeInside: true }], overwrite: true })),
    'LK_OUT_IS_INPUT');
  assert.equal(readFileSync(join(model, 'model.safetensors'), 'utf8'), 'weights');
});

test("another verb's folder needs --overwrite; the same verb's is replaced; only the new files remain", async () => {
  const root = mkdtempSync(join(tmpdir(), 'lk-outdir-'));
  const out = join(root, 'out');
  await writeOutDir(out, { verb: 'merge' }, (tmp) => writeFileSync(join(tmp, 'a.txt'), '1'));
  assert.equal(outMarkerVerb(out), 'merge');
  assert.equal(code(() => checkOutDir(out, { verb: 'train' })), 'LK_OUT_EXISTS');
  await writeOutDir(out, { verb: 'merge' }, (tmp) => writeFileSync(join(tmp, 'b.txt'), '2'));
  assert.deepEqual(readdirSync(out).sort(), [OUT_MARKER, 'b.txt']);
  await writeOutDir(out, { verb: 'train', overwrite: true }, (tmp) => writeFileSync(join(tmp, 'c.txt'), '3'));
  assert.equal(outMarkerVerb(out), 'train');
  assert.deepEqual(readdirSync(root), ['out'], 'no temp or old folder is left beside it');
});

test('a failed fill leaves the old folder as it was; a folder that appears meanwhile is not replaced', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lk-outdir-'));
  const out = join(root, 'out');
  await writeOutDir(out, { verb: 'train' }, (tmp) => writeFileSync(join(tmp, 'old.txt'), 'old'));
  await assert.rejects(writeOutDir(out, { verb: 'train' }, () => { throw new Error('disk full'); }), /disk full/);
  assert.equal(readFileSync(join(out, 'old.txt'), 'utf8'), 'old');
  assert.deepEqual(readdirSync(root), ['out']);
  const late = join(root, 'late');
  const w = beginOutDir(late, { verb: 'train' });
  writeFileSync(join(w.tmp, 'new.txt'), 'new');
  mkdirSync(late);
  writeFileSync(join(late, 'notes.txt'), 'mine');
  assert.equal(code(() => w.commit()), 'LK_OUT_EXISTS');
  assert.equal(readFileSync(join(late, 'notes.txt'), 'utf8'), 'mine');
  assert.ok(!existsSync(w.tmp));
  writeFileSync(join(root, 'file'), 'x');
  assert.equal(code(() => checkOutDir(join(root, 'file'), { verb: 'train', overwrite: true })), 'LK_OUT_EXISTS');
});
