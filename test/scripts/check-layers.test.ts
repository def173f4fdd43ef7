// `npm run lint` runs scripts/check-layers.mjs: it must pass on the repository as it is, and fail on an upward
// import, on an arrow in its table that no import uses, and on an engine over its line budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const check = (root?: string): { code: number | null; out: string } => {
  const r = spawnSync(process.execPath, ['scripts/check-layers.mjs', ...(root ? [root] : [])], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
};
/** A copy of src/ to break one rule in. */
const copy = (): string => {
  const root = mkdtempSync(join(tmpdir(), 'lk-layers-'));
  cpSync('src', join(root, 'src'), { recursive: true });
  return root;
};

test('the repository passes the layer check', () => {
  const r = check();
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /layers ok; src\/engine: \d+\/\d+ lines/);
});

test('an upward import (engine → serve) is refused, naming the file', () => {
  const root = copy();
  writeFileSync(join(root, 'src/engine/upward.ts'), "import { createServer } from '../serve/server.js';\nexport const x = createServer;\n");
  const r = check(root);
  assert.equal(r.code, 1);
  assert.match(r.out, /src\/engine\/upward\.ts: src\/engine may not import src\/serve/);
});

test('an arrow in the table that no import uses is refused', () => {
  const root = copy();
  // Drop every import of src/data from src/eval (the files no longer compile, which the check does not need).
  for (const name of readdirSync(join(root, 'src/eval'), { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.ts'))) {
    const f = join(root, 'src/eval', name);
    writeFileSync(f, readFileSync(f, 'utf8').replace(/^import [^;]*'\.\.\/(\.\.\/)?data\/[^']+';$/gm, ''));
  }
  const r = check(root);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /src\/eval no longer imports src\/data/);
});

test('src/engine over its line budget is refused', () => {
  const root = copy();
  appendFileSync(join(root, 'src/engine/index.ts'), '\n'.repeat(5000));
  const r = check(root);
  assert.equal(r.code, 1);
  assert.match(r.out, /src\/engine has \d+ lines, over its budget of \d+/);
});
