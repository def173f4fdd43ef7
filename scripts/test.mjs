// Test entry (`npm test` after typecheck and lint): finds test/**/*.test.ts and runs them with Node's own
// test runner through tsx. Node 20's --test takes no globs, hence this small walker.
// Tests get their own LORAKIT_HOME (a temp folder), so that a verb run in-process without one (merge, eval, ...
// record tracked runs) never writes into the user's ~/.lorakit.
// Usage: node scripts/test.mjs [substring-filter...]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const filters = process.argv.slice(2);
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (name !== 'fixtures') out.push(...walk(p)); }
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const files = walk('test').map((f) => relative('.', f)).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) { console.error('no test files matched'); process.exit(1); }
const home = mkdtempSync(join(tmpdir(), 'lk-test-home-'));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit', env: { ...process.env, LORAKIT_HOME: home },
});
rmSync(home, { recursive: true, force: true });
process.exit(r.status ?? 1);
