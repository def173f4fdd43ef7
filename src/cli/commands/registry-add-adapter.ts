// `lorakit registry add-adapter <dir> --name NAME` or `--run ID`: register a PEFT adapter as the next version.
import { LorakitError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { needPositionals, fmtMetrics, storeFlag } from './registry-common.js';

export interface RegistryAddAdapterFlags {
  name: string;
  base: string | undefined;
  run: string | undefined;
  dataset: string | undefined;
  metric: string[];
  by: string | undefined;
  allowDuplicate: boolean;
  store: string | undefined;
  json: boolean;
}
function parseMetric(raw: string, flag: string): string {
  if (!/^[\w.-]+=-?[\d.]+(e-?\d+)?$/i.test(raw) || !Number.isFinite(Number(raw.split('=')[1])))
    throw new LorakitError('LK_ARG', `'${flag}' expects KEY=NUMBER, got '${raw}'`);
  return raw;
}
export const registryAddAdapter = defineCommand<RegistryAddAdapterFlags>({
  name: 'registry add-adapter',
  summary: 'Register a PEFT adapter folder (or the adapter of a tracked run) as the next version of NAME',
  positionals: '[dir]',
  example: 'lorakit registry add-adapter out/support --name support    |    lorakit registry add-adapter --run 20261129-0503 --name support',
  flags: {
    name: { arg: '<name>', help: "Adapter name; versions are numbered per name (support@v1, support@v2, ...)", required: true },
    base: { arg: '<base>', help: "Base name or fingerprint (default: base_fingerprint from the folder's lorakit.json)" },
    run: { arg: '<id>', help: "Register the adapter a tracked run wrote (its 'adapter' artifact or <runDir>/adapter)" },
    dataset: { arg: '<fingerprint>', help: 'Dataset fingerprint (default: from lorakit.json or the run)' },
    metric: { arg: '<k=v>', help: 'A metric to record with the version', repeatable: true },
    by: { arg: '<who>', help: 'Who registers it (default: $USER)' },
    allowDuplicate: { help: 'Register identical content again as a new version', default: false },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [dir] = needPositionals('registry add-adapter', positionals, ['[dir]'], 1);
    if (!dir === !flags.run) throw new LorakitError('LK_ARG', 'registry add-adapter: give either a folder or --run ID (exactly one)');
    const metrics = Object.fromEntries(flags.metric.map((m) => { const [k, v] = parseMetric(m, '--metric').split('='); return [k, Number(v)]; }));
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const opts = {
        name: flags.name,
        base: flags.base,
        datasetFingerprint: flags.dataset,
        metrics,
        by: flags.by,
        allowDuplicate: flags.allowDuplicate,
      };
      let r;
      if (flags.run) {
        const { Tracker } = await import('../../track/index.js');
        const tracker = await Tracker.open(undefined, { store: flags.store });
        try { r = await reg.addAdapterFromRun(tracker, flags.run, opts); } finally { await tracker.close(); }
      } else r = await reg.addAdapter(dir, opts);
      const v = r.version;
      io.done(
        { ...v, created: r.created },
        `${r.created ? 'registered' : 'already registered (identical content)'} ${v.ref}  ` +
          `base ${await reg.describeBase(v.baseFingerprint)}${v.baseQuantization === 'none' ? '' : ` (${v.baseQuantization})`}  ` +
          `r=${String(v.loraConfig.r ?? '?')}` +
          `${Object.keys(v.metrics).length ? '  ' + fmtMetrics(v.metrics) : ''}`,
      );
    } finally { await reg.close(); }
  },
});
