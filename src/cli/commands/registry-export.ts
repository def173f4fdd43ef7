// `lorakit registry export <ref> --out DIR`: write a version back out as a PEFT folder (blobs re-hashed on the way).
import { defineCommand } from '../command.js';
import { fmtBytes, needPositionals, storeFlag } from './registry-common.js';

export interface RegistryExportFlags { out: string; overwrite: boolean; store: string | undefined; json: boolean }
export const registryExport = defineCommand<RegistryExportFlags>({
  name: 'registry export',
  summary: 'Export an adapter version to a PEFT folder (adapter_config.json + adapter_model.safetensors + lorakit.json with its base)',
  positionals: '<ref>',
  example: 'lorakit registry export support@production --out /srv/adapters/support',
  flags: {
    out: { arg: '<dir>', help: 'Folder to write (new, empty, or an earlier export)', required: true, short: 'o' },
    overwrite: { help: 'Replace a non-empty folder that export did not write (never the registry store)', default: false },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [ref] = needPositionals('registry export', positionals, ['<ref>']);
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const r = await reg.export(ref, flags.out, { overwrite: flags.overwrite });
      io.done({ ref: r.version.ref, dir: r.dir, files: r.files }, `exported ${r.version.ref} to ${r.dir} (${r.files.length} files, ${fmtBytes(r.files.reduce((a, f) => a + f.bytes, 0))})`);
    } finally { await reg.close(); }
  },
});
