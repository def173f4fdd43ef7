// `lorakit registry check <ref> --base <dir|name|fingerprint> [--quantize …]`: is this adapter compatible with this
// base? With the quantization flags (the precision the base will run at), also warns when the version was trained at
// another precision: a warning, since the adapter still runs (issue 12).
import { defineCommand } from '../command.js';
import { type QuantFlags, quantFlags, quantOptions } from '../quant-flags.js';
import { needPositionals, storeFlag } from './registry-common.js';

export interface RegistryCheckFlags extends QuantFlags { base: string; store: string | undefined; json: boolean }
export const registryCheck = defineCommand<RegistryCheckFlags>({
  name: 'registry check',
  summary: 'Check that an adapter version was trained on a given base (folder, name or fingerprint) and precision',
  positionals: '<ref>',
  example: 'lorakit registry check support@production --base models/qwen2-0.5b --quantize int4',
  flags: {
    base: { arg: '<dir|name|fp>', help: 'The base model to check against', required: true },
    ...quantFlags,
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [ref] = needPositionals('registry check', positionals, ['<ref>']);
    const { quantLabel, resolveQuantScheme } = await import('../../models/quant/scheme.js');
    // Without --quantize the precision the base will run at is unknown here: nothing to compare.
    const quantization = flags.quantize === undefined ? undefined : quantLabel(resolveQuantScheme(quantOptions(flags)));
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const r = await reg.assertCompatible(ref, flags.base, { quantization });
      if (r.precisionMismatch) io.stderr.write(`warning: adapter ${r.adapter.ref}: ${r.precisionMismatch}\n`);
      io.done(
        {
          ok: true, adapter: r.adapter.ref, baseFingerprint: r.baseFingerprint, baseQuantization: r.adapter.baseQuantization,
          precisionWarning: r.precisionMismatch,
        },
        `ok: ${r.adapter.ref} was trained on ${await reg.describeBase(r.baseFingerprint)} (precision ${r.adapter.baseQuantization})`,
      );
    } finally { await reg.close(); }
  },
});
