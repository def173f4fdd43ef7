// The generated HAProxy config: replica parsing, the directives the routing relies on, and `haproxy -c` on the
// installed HAProxy (2.6 on Debian 12). Fails, never skips, when haproxy is missing: .ci/run installs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haproxyConfig, parseReplicas } from '../../src/serve/haproxy.js';
import { CLI } from '../helpers/cli.js';

test('replicas parse as host:port lists; bad or repeated entries are LK_ARG', () => {
  assert.deepEqual(parseReplicas('10.0.0.1:8000, serve-2.internal:8001,[::1]:9'), [
    { host: '10.0.0.1', port: 8000 },
    { host: 'serve-2.internal', port: 8001 },
    { host: '[::1]', port: 9 },
  ]);
  for (const bad of ['', 'host', 'host:0', 'host:70000', 'a:1,a:1', 'a b:1']) assert.throws(() => parseReplicas(bad), { code: 'LK_ARG' }, bad);
  assert.throws(() => haproxyConfig({ replicas: parseReplicas('a:1'), balanceFactor: 100 }), { code: 'LK_ARG' });
});

test('the config routes on the model field with bounded consistent hashing, checks /ready and retries elsewhere', () => {
  const cfg = haproxyConfig({ replicas: parseReplicas('10.0.0.1:8000,10.0.0.2:8000,10.0.0.3:8000'), balanceFactor: 125 });
  for (const line of ['option http-buffer-request', "http-request set-var(txn.model) req.body,json_query('$.model')",
    'balance hash var(txn.model)', 'hash-type consistent',
    'hash-balance-factor 125', 'option httpchk GET /ready', 'http-check expect status 200', 'option redispatch',
    'retry-on conn-failure empty-response 503',
    'server r1 10.0.0.1:8000', 'server r3 10.0.0.3:8000']) assert.ok(cfg.includes(line), `config has '${line}'`);
  assert.equal(/http-buffer-response|compression/.test(cfg), false, 'responses (SSE) are not buffered');
});

test('haproxy -c accepts the generated config', () => {
  const v = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  assert.ok(!v.error, 'haproxy is installed (Debian: apt-get install haproxy; .ci/run does this)');
  const file = join(mkdtempSync(join(tmpdir(), 'lk-hx-')), 'haproxy.cfg');
  writeFileSync(file, haproxyConfig({ replicas: parseReplicas('127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003'), bind: '127.0.0.1:9000' }));
  const r = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${v.stdout.split('\n')[0]}: ${r.stdout}${r.stderr}`);
  assert.equal(/\[WARNING\]/.test(r.stdout + r.stderr), false, `no warnings: ${r.stdout}${r.stderr}`);
});

test('deploy haproxy --out never replaces an existing file without --overwrite, nor a folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-hx-out-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, 'my own config\n');
  const deploy = (...extra: string[]) =>
    spawnSync(process.execPath, [...CLI, 'deploy', 'haproxy', '--replicas', '127.0.0.1:9001', ...extra, '--json'], { encoding: 'utf8' });
  const refused = deploy('--out', file);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /LK_OUT_EXISTS/);
  assert.equal(readFileSync(file, 'utf8'), 'my own config\n');
  assert.match(deploy('--out', dir, '--overwrite').stderr, /LK_OUT_EXISTS/, 'a folder is never replaced');
  const replaced = deploy('--out', file, '--overwrite');
  assert.equal(replaced.status, 0, replaced.stderr);
  assert.match(readFileSync(file, 'utf8'), /hash-type consistent/);
  const fresh = deploy('--out', join(dir, 'new.cfg'));
  assert.equal(fresh.status, 0, fresh.stderr);
});
