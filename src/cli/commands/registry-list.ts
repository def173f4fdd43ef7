// `lorakit registry list`: adapter versions (with aliases, tags, stage), or bases with --bases.
import { defineCommand } from '../command.js';
import { oneOf } from '../parse.js';
import { fmtMetrics, fmtTime, table, storeFlag } from './registry-common.js';

type StageFlag = 'none' | 'staging' | 'production' | 'archived';
export interface RegistryListFlags {
  name: string | undefined;
  base: string | undefined;
  stage: StageFlag | undefined;
  tag: string | undefined;
  bases: boolean;
  store: string | undefined;
  json: boolean;
}
export const registryList = defineCommand<RegistryListFlags>({
  name: 'registry list',
  summary: 'List adapter versions (or base models with --bases)',
  example: 'lorakit registry list --name support',
  flags: {
    name: { arg: '<name>', help: 'Only versions of this adapter' },
    base: { arg: '<base>', help: 'Only adapters of this base (name or fingerprint)' },
    stage: { arg: '<stage>', help: 'Only versions in this stage', parse: oneOf<StageFlag>(['none', 'staging', 'production', 'archived']) },
    tag: { arg: '<tag>', help: 'Only versions with this tag' },
    bases: { help: 'List registered base models instead', default: false },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io) {
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      if (flags.bases) {
        const bases = await reg.listBases();
        io.log(table(['name', 'fingerprint', 'architecture', 'parameters', 'dtypes', 'registered'],
          bases.map((b) => [b.name ?? '', b.fingerprint.slice(0, 16), b.architecture,
            b.parameters.toLocaleString('en-US'), b.meta.dtypes.join('/'), fmtTime(b.createdAt)])));
        io.done({ bases }, `${bases.length} base model(s)`);
        return;
      }
      const base = flags.base ? (await reg.resolveBase(flags.base)).fingerprint : undefined;
      const versions = await reg.list({ name: flags.name, baseFingerprint: base, stage: flags.stage, tag: flags.tag });
      const baseNames = new Map((await reg.listBases()).map((b) => [b.fingerprint, b.name ?? b.fingerprint.slice(0, 12)]));
      io.log(table(['version', 'base', 'quant', 'stage', 'aliases', 'tags', 'metrics', 'created'],
        versions.map((v) => [v.ref, baseNames.get(v.baseFingerprint) ?? v.baseFingerprint.slice(0, 12), v.baseQuantization,
          v.stage === 'none' ? '' : v.stage, v.aliases.join(','), v.tags.join(','), fmtMetrics(v.metrics),
          `${fmtTime(v.createdAt)} ${v.createdBy}`])));
      io.done({ versions }, `${versions.length} version(s)`);
    } finally { await reg.close(); }
  },
});
