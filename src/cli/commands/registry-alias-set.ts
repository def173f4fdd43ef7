// `lorakit registry alias-set <ref> <alias>`: point an alias at a version (history keeps who/when/why).
import { defineCommand } from '../command.js';
import { needPositionals, storeFlag } from './registry-common.js';

export interface RegistryAliasSetFlags {
  by: string | undefined;
  reason: string | undefined;
  requireSuite: string | undefined;
  force: boolean;
  store: string | undefined;
  json: boolean;
}
export const registryAliasSet = defineCommand<RegistryAliasSetFlags>({
  name: 'registry alias-set',
  summary: 'Point an alias (e.g. production) at an adapter version, optionally gated on a passing eval suite',
  positionals: '<ref> <alias>',
  example: "lorakit registry alias-set support@v3 production --reason 'beats v2 on smoke' --require-suite smoke",
  flags: {
    by: { arg: '<who>', help: 'Who moves the alias (default: $USER)' },
    reason: { arg: '<text>', help: 'Why (kept in the alias history)' },
    requireSuite: { arg: '<suite>', help: 'Refuse (LK_GATE) unless the version has a passing report for this eval suite' },
    force: { help: 'Move the alias even if the gate fails (recorded in the history)', default: false },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [ref, alias] = needPositionals('registry alias-set', positionals, ['<ref>', '<alias>']);
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const { version: v, event } = await reg.setAlias(ref, alias, {
        by: flags.by,
        reason: flags.reason,
        requireSuite: flags.requireSuite,
        force: flags.force,
      });
      io.done(
        { version: v, event },
        `${v.name}@${alias} -> ${v.ref}${event.fromVersion ? ` (was v${event.fromVersion})` : ''}${event.forced ? ' (FORCED past the gate)' : ''}`,
      );
    } finally { await reg.close(); }
  },
});
