// `lorakit deploy haproxy`: writes the HAProxy 2.6 config that routes OpenAI requests to serve replicas by
// adapter (the request's `model` field), and checks it with `haproxy -c` when HAProxy is installed.
import { spawnSync } from 'node:child_process';
import { defineCommand } from '../command.js';
import { positiveInt } from '../parse.js';

export interface DeployHaproxyFlags {
  replicas: string;
  out: string | undefined;
  bind: string;
  balanceFactor: number;
  checkIntervalMs: number;
  timeoutS: number;
  check: boolean;
  overwrite: boolean;
  json: boolean;
}
export const deployHaproxy = defineCommand<DeployHaproxyFlags>({
  name: 'deploy haproxy',
  summary: 'Write an HAProxy 2.6 config with adapter-affinity routing over lorakit serve replicas',
  example: 'lorakit deploy haproxy --replicas 10.0.0.11:8000,10.0.0.12:8000,10.0.0.13:8000 --out haproxy.cfg',
  flags: {
    replicas: { arg: '<host:port,...>', help: 'the serve replicas', required: true },
    out: { arg: '<file>', help: 'write the config here (default: stdout)' },
    bind: { arg: '<addr:port>', help: 'where HAProxy listens', default: '0.0.0.0:8000' },
    balanceFactor: {
      arg: '<pct>',
      help: 'hash-balance-factor: no replica takes more than this % of the average load',
      default: 150,
      parse: positiveInt,
    },
    checkIntervalMs: { arg: '<ms>', help: 'health-check interval (GET /ready); down after 3 failures', default: 1000, parse: positiveInt },
    timeoutS: { arg: '<s>', help: 'longest request, streams included', default: 600, parse: positiveInt },
    check: { help: "validate the written file with 'haproxy -c' (needs --out and haproxy on PATH)", default: false },
    overwrite: { help: 'replace an existing --out file', default: false },
    json: { help: 'JSON output', default: false },
  },
  async run(f, io) {
    const { haproxyConfig, parseReplicas } = await import('../../serve/haproxy.js');
    const { writeFileAtomic } = await import('../../util/atomic.js');
    const { checkOutFile } = await import('../../util/out-dir.js');
    const { LorakitError } = await import('../../errors.js');
    const replicas = parseReplicas(f.replicas);
    const text = haproxyConfig({ replicas, bind: f.bind, balanceFactor: f.balanceFactor, checkIntervalMs: f.checkIntervalMs, timeoutS: f.timeoutS });
    if (!f.out) {
      if (f.json) io.done({ config: text, replicas });
      else io.stdout.write(text);
      return;
    }
    writeFileAtomic(checkOutFile(f.out, { verb: 'deploy haproxy', overwrite: f.overwrite }), text);
    let checked = false;
    if (f.check) {
      const r = spawnSync('haproxy', ['-c', '-f', f.out], { encoding: 'utf8' });
      if (r.error) {
        throw new LorakitError('LK_ARG', `--check: cannot run haproxy: ${r.error.message}`, {
          hint: 'install HAProxy 2.6+ (Debian: apt-get install haproxy)',
        });
      }
      if (r.status !== 0) throw new LorakitError('LK_ARG', `haproxy -c rejected ${f.out}:\n${r.stdout}${r.stderr}`);
      checked = true;
    }
    io.done(
      { out: f.out, replicas, checked },
      `wrote ${f.out} for ${replicas.length} replica(s)${checked ? ' (haproxy -c: valid)' : ''}; run: haproxy -f ${f.out}`,
    );
  },
});
