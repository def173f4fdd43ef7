// `lorakit registry delete <ref>`: delete a version (refused while an alias points at it).
import { defineCommand } from '../command.js';
import { needPositionals, storeFlag } from './registry-common.js';

export interface RegistryDeleteFlags { by: string | undefined; reason: string | undefined; store: string | undefined; json: boolean }
export const registryDelete = defineCommand<RegistryDeleteFlags>({
  name: 'registry delete',
  summary: "Delete an adapter version (refused while an alias points at it; blobs go at the next 'registry gc')",
  positionals: '<ref>',
  example: 'lorakit registry delete support@v1 --reason superseded',
  flags: {
    by: { arg: '<who>', help: 'Who (default: $USER)' },
    reason: { arg: '<text>', help: 'Why (kept in history)' },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [ref] = needPositionals('registry delete', positionals, ['<ref>']);
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const v = await reg.deleteVersion(ref, { by: flags.by, reason: flags.reason });
      io.done({ deleted: v.ref }, `deleted ${v.ref}`);
    } finally { await reg.close(); }
  },
});
