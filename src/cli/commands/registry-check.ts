// `lorakit registry check <ref> --base <dir|name|fingerprint>`: is this adapter compatible with this base?
import { defineCommand } from '../command.js';
import { needPositionals, storeFlag } from './registry-common.js';

export interface RegistryCheckFlags { base: string; store: string | undefined; json: boolean }
export const registryCheck = defineCommand<RegistryCheckFlags>({
  name: 'registry check',
  summary: 'Check that an adapter version was trained on a given base (folder, name or fingerprint)',
  positionals: '<ref>',
  example: 'lorakit registry check support@production --base models/qwen2-0.5b',
  flags: {
    base: { arg: '<dir|name|fp>', help: 'The base model to check against', required: true },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [ref] = needPositionals('registry check', positionals, ['<ref>']);
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const r = await reg.assertCompatible(ref, flags.base);
      io.done(
        { ok: true, adapter: r.adapter.ref, baseFingerprint: r.baseFingerprint },
        `ok: ${r.adapter.ref} was trained on ${await reg.describeBase(r.baseFingerprint)}`,
      );
    } finally { await reg.close(); }
  },
});
