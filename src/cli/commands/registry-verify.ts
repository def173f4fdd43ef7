// `lorakit registry verify`: re-hash every blob; exit 1 with LK_CORRUPT listing each bad one.
import { defineCommand } from '../command.js';
import { fmtBytes } from './registry-common.js';

export interface RegistryVerifyFlags { json: boolean }
export const registryVerify = defineCommand<RegistryVerifyFlags>({
  name: 'registry verify',
  summary: 'Re-hash every stored blob and report corruption or missing blobs',
  example: 'lorakit registry verify',
  flags: { json: { help: 'JSON output', default: false } },
  async run(_flags, io) {
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open();
    try {
      let bar: ReturnType<typeof io.progress> | undefined;
      const r = await reg.verify({ onProgress: (done, total) => { (bar ??= io.progress({ total, label: 'verify', unit: 'blobs' })).tick(done); } });
      bar?.finish();
      io.done(r, `ok: ${r.checked} blobs (${fmtBytes(r.bytes)}) match their sha256`);
    } finally { await reg.close(); }
  },
});
