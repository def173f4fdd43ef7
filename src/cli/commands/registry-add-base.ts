// `lorakit registry add-base <dir> --name NAME`: fingerprint a HF model folder and store it in the registry.
import { defineCommand } from '../command.js';
import { needPositionals, storeFlag } from './registry-common.js';

export interface RegistryAddBaseFlags { name: string | undefined; by: string | undefined; store: string | undefined; json: boolean }
export const registryAddBase = defineCommand<RegistryAddBaseFlags>({
  name: 'registry add-base',
  summary: 'Register a base model folder (config.json + *.safetensors) by its fingerprint',
  positionals: '<dir>',
  example: 'lorakit registry add-base models/qwen2-0.5b --name qwen2-0.5b',
  flags: {
    name: { arg: '<name>', help: 'A unique name to refer to the base by' },
    by: { arg: '<who>', help: 'Who registers it (default: $USER)' },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [dir] = needPositionals('registry add-base', positionals, ['<dir>']);
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const b = await reg.addBase(dir, { name: flags.name, by: flags.by });
      io.done(
        b,
        `base ${b.name ?? '(unnamed)'} ${b.fingerprint}\n  ${b.architecture}, ${b.parameters.toLocaleString('en-US')} parameters, ` +
          `${b.meta.dtypes.join('/')}, tokenizer ${b.meta.tokenizerSha256.slice(0, 12) || 'none'}`,
      );
    } finally { await reg.close(); }
  },
});
