// Processes for the cluster test: `lorakit serve` replicas on loopback ports and an HAProxy with the config
// `lorakit deploy haproxy` writes. Each start returns a handle that stops what it started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haproxyConfig } from '../../src/serve/haproxy.js';
import { freePort } from '../helpers/postgres.js';
import { CLI } from '../helpers/cli.js';

export interface Proc { readonly child: ChildProcess; readonly port: number; readonly log: () => string; readonly exited: Promise<number | null> }

function track(child: ChildProcess, port: number): Proc {
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { log += d; });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { log += d; });
  const killer = (): void => { if (child.exitCode === null) child.kill('SIGKILL'); };
  process.once('exit', killer); // never leave a replica or HAProxy behind the test process
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => { process.off('exit', killer); r(code); }));
  return { child, port, log: () => log, exited };
}

export async function startReplica(o: { model: string; store: string; home: string; blobRoot: string; maxLoras: number }): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, [...CLI, 'serve', '--model', o.model, '--store', o.store, '--port', String(port),
    '--host', '127.0.0.1', '--max-loras', String(o.maxLoras), '--threads', '1', '--json'],
  { env: { ...process.env, LORAKIT_HOME: o.home, LORAKIT_BLOB_ROOT: o.blobRoot }, stdio: ['ignore', 'pipe', 'pipe'] });
  return track(child, port);
}

export async function waitReady(url: string, timeoutMs: number, what: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try { if ((await fetch(url)).status === 200) return; } catch { /* not listening yet */ }
    if (Date.now() > end) throw new Error(`${url} not ready after ${timeoutMs} ms:\n${what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** HAProxy with the generated config (`transform` may rewrite it: the cluster bench's round-robin baseline). */
export async function startHaproxy(
  dir: string,
  replicaPorts: readonly number[],
  opts: { balanceFactor: number; transform?: (cfg: string) => string },
): Promise<Proc & { cfg: string }> {
  // a missing haproxy fails the test with the fix, never skips it
  if (spawnSync('haproxy', ['-v']).error)
    throw new Error('haproxy not found: install HAProxy 2.6+ (Debian: apt-get install haproxy; .ci/run does this)');
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  const text = haproxyConfig({
    replicas: replicaPorts.map((p) => ({ host: '127.0.0.1', port: p })),
    bind: `127.0.0.1:${port}`,
    checkIntervalMs: 1000,
    balanceFactor: opts.balanceFactor,
  });
  writeFileSync(cfg, opts.transform ? opts.transform(text) : text);
  const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return { ...track(child, port), cfg };
}
