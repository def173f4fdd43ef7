// A throwaway PostgreSQL for tests: initdb + pg_ctl in a temp folder, listening on a free loopback port, run
// as the unprivileged 'nobody' when the tests run as root (PostgreSQL refuses to run as root). Missing
// binaries are an error, never a skip: .ci/run installs Debian's postgresql.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres { readonly url: string; readonly port: number; readonly dir: string; stop(): void }

/** initdb/pg_ctl from PATH or Debian's /usr/lib/postgresql/<v>/bin; throws naming the package when absent. */
export function postgresBin(name: 'initdb' | 'pg_ctl'): string {
  const debian = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .sort()
        .reverse()
        .map((v) => join('/usr/lib/postgresql', v, 'bin', name))
    : [];
  for (const p of debian) if (existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error(`${name} not found: install PostgreSQL (Debian: apt-get install postgresql; .ci/run does this)`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => resolve(typeof a === 'object' && a ? a.port : 0)); });
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const initdb = postgresBin('initdb'), pgCtl = postgresBin('pg_ctl');
  const dir = mkdtempSync(join(tmpdir(), 'lk-pg-'));
  chmodSync(dir, 0o777);
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]): void => {
    const [c, a] = asRoot ? ['runuser', ['-u', 'nobody', '--', cmd, ...args]] : [cmd, args];
    execFileSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  };
  const data = join(dir, 'data');
  run(initdb, ['-D', data, '-A', 'trust', '-U', 'lorakit', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off ` +
    '-c full_page_writes=off -c max_connections=100';
  run(pgCtl, ['-D', data, '-l', join(dir, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    try { run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']); } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  return { url: `postgres://lorakit@127.0.0.1:${port}/postgres`, port, dir, stop };
}
