// `lorakit registry gc`: remove blobs nothing refers to (left by deletes or killed registrations), and temp files
// of killed registrations (writer gone, or idle past the grace period; never one still being written).
import { defineCommand } from '../command.js';
import { finiteNumber } from '../parse.js';
import { fmtBytes, storeFlag } from './registry-common.js';

export interface RegistryGcFlags { graceHours: number; dryRun: boolean; store: string | undefined; json: boolean }
export const registryGc = defineCommand<RegistryGcFlags>({
  name: 'registry gc',
  summary: 'Delete unreferenced blobs older than the grace period (so registrations in flight keep theirs)',
  example: 'lorakit registry gc --dry-run',
  flags: {
    graceHours: {
      arg: '<h>', help: 'Only remove orphans (and temp files) older than this many hours; a temp file whose writer is gone goes after 1 min',
      default: 1, parse: finiteNumber,
    },
    dryRun: { help: 'List what would be removed', default: false },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io) {
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const r = await reg.gc({ graceMs: flags.graceHours * 3_600_000, dryRun: flags.dryRun });
      const temp = `${r.tempRemoved} ${flags.dryRun ? 'to remove' : 'removed'} (${fmtBytes(r.tempBytesFreed)}), ${r.tempKept} kept (maybe in flight)`;
      io.done(r, `${flags.dryRun ? 'would remove' : 'removed'} ${r.removed.length} blob(s), ${fmtBytes(r.bytesFreed)}; kept ${r.kept}; ` +
        `temp files of interrupted registrations: ${temp}`);
    } finally { await reg.close(); }
  },
});
