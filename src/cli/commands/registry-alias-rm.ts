// `lorakit registry alias-rm <name> <alias>`: remove an alias (kept in history).
import { defineCommand } from '../command.js';
import { needPositionals, storeFlag } from './registry-common.js';

export interface RegistryAliasRmFlags { by: string | undefined; reason: string | undefined; store: string | undefined; json: boolean }
export const registryAliasRm = defineCommand<RegistryAliasRmFlags>({
  name: 'registry alias-rm',
  summary: 'Remove an alias from an adapter',
  positionals: '<name> <alias>',
  example: "lorakit registry alias-rm support production --reason 'rollback, incident 42'",
  flags: {
    by: { arg: '<who>', help: 'Who removes it (default: $USER)' },
    reason: { arg: '<text>', help: 'Why (kept in the alias history)' },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [name, alias] = needPositionals('registry alias-rm', positionals, ['<name>', '<alias>']);
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const event = await reg.removeAlias(name, alias, { by: flags.by, reason: flags.reason });
      io.done({ name, alias, removed: true, event }, `removed ${name}@${alias} (was v${event.fromVersion})`);
    } finally { await reg.close(); }
  },
});
