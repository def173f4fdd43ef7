// `lorakit registry stage <ref> <stage>`: none | staging | production | archived.
import type { Stage } from '../../registry/index.js';
import { defineCommand } from '../command.js';
import { needPositionals, storeFlag } from './registry-common.js';

export interface RegistryStageFlags { by: string | undefined; reason: string | undefined; store: string | undefined; json: boolean }
export const registryStage = defineCommand<RegistryStageFlags>({
  name: 'registry stage',
  summary: 'Set the stage of an adapter version (none, staging, production, archived)',
  positionals: '<ref> <stage>',
  example: 'lorakit registry stage support@v1 archived',
  flags: {
    by: { arg: '<who>', help: 'Who (default: $USER)' },
    reason: { arg: '<text>', help: 'Why (kept in history)' },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [ref, stage] = needPositionals('registry stage', positionals, ['<ref>', '<stage>']);
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const v = await reg.setStage(ref, stage as Stage, { by: flags.by, reason: flags.reason });
      io.done(v, `${v.ref} stage: ${v.stage}`);
    } finally { await reg.close(); }
  },
});
