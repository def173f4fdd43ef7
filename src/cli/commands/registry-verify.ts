// `lorakit registry verify`: re-hash every blob; exit 1 with LK_CORRUPT listing each bad one. Also lists temp files
// left by killed registrations (with their age), which are not corruption: `registry gc` removes them.
import { defineCommand } from '../command.js';
import { fmtBytes, storeFlag } from './registry-common.js';

const fmtAge = (ms: number): string =>
  (ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

export interface RegistryVerifyFlags { store: string | undefined; json: boolean }
export const registryVerify = defineCommand<RegistryVerifyFlags>({
  name: 'registry verify',
  summary: 'Re-hash every stored blob and report corruption or missing blobs',
  example: 'lorakit registry verify',
  flags: { store: storeFlag, json: { help: 'JSON output', default: false } },
  async run(flags, io) {
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      let bar: ReturnType<typeof io.progress> | undefined;
      const r = await reg.verify({ onProgress: (done, total) => { (bar ??= io.progress({ total, label: 'verify', unit: 'blobs' })).tick(done); } });
      bar?.finish();
      const writer = (alive: boolean | null): string => (alive ? 'running' : alive === false ? 'gone' : '');
      const tempBytes = fmtBytes(r.temp.reduce((s, t) => s + t.bytes, 0));
      const temp = r.temp.length === 0 ? '' : `\n${r.temp.length} temp file(s) of in-flight or interrupted registrations (${tempBytes}):\n` +
        r.temp.map((t) => `  ${t.path}  ${fmtBytes(t.bytes)}  idle ${fmtAge(t.ageMs)}  pid ${t.pid ?? '?'} ${writer(t.writerAlive)}`).join('\n') +
        "\n'lorakit registry gc' removes the abandoned ones";
      io.done(r, `ok: ${r.checked} blobs (${fmtBytes(r.bytes)}) match their sha256${temp}`);
    } finally { await reg.close(); }
  },
});
