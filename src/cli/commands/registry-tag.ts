// `lorakit registry tag <ref> <tag> [--remove]`
import { defineCommand } from '../command.js';
import { needPositionals, storeFlag } from './registry-common.js';

export interface RegistryTagFlags { remove: boolean; by: string | undefined; store: string | undefined; json: boolean }
export const registryTag = defineCommand<RegistryTagFlags>({
  name: 'registry tag',
  summary: 'Add (or --remove) a tag on an adapter version',
  positionals: '<ref> <tag>',
  example: 'lorakit registry tag support@v3 reviewed',
  flags: {
    remove: { help: 'Remove the tag instead', default: false },
    by: { arg: '<who>', help: 'Who (default: $USER)' },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [ref, tag] = needPositionals('registry tag', positionals, ['<ref>', '<tag>']);
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const v = await reg.tag(ref, tag, { remove: flags.remove, by: flags.by });
      io.done(v, `${v.ref} tags: ${v.tags.join(', ') || '-'}`);
    } finally { await reg.close(); }
  },
});
