// `lorakit registry list | head`: a reader that closes the pipe early must not give an EPIPE stack trace.
// The child's stdout pipe is closed by the parent before the child writes anything, so its first write meets a
// closed pipe every time (no timing luck needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { makeAdapter, makeBase, tmp } from './helpers.js';
import { openRegistry, storeEnv } from '../helpers/store.js';
import { CLI } from '../helpers/cli.js';

test('registry list into a pipe closed early exits quietly (no EPIPE stack trace)', async () => {
  const root = tmp();
  const home = join(root, 'home');
  const reg = openRegistry(home);
  const base = await reg.addBase(makeBase(join(root, 'base')), { name: 'tiny' });
  for (let i = 1; i <= 3; i++) {
    await reg.addAdapter(makeAdapter(join(root, `a${i}`), { seed: i, baseFingerprint: base.fingerprint }), { name: 'pipe' });
  }
  await reg.close();
  for (const extra of [[], ['--json']]) {
    const child = spawn(process.execPath, [...CLI, 'registry', 'list', ...extra], {
      env: { ...process.env, ...storeEnv(home) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // like `head` that has already exited
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    assert.doesNotMatch(stderr, /EPIPE|Error|at /, `stderr: ${stderr}`);
    assert.equal(code, 0, `exit code (stderr: ${stderr})`);
  }
});
