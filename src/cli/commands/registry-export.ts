// `lorakit registry export <ref> --out DIR`: write a version back out as a PEFT folder (blobs re-hashed on the way).
import { defineCommand } from '../command.js';
import { fmtBytes, needPositionals, storeFlag } from './registry-common.js';

export interface RegistryExportFlags { out: string; overwrite: boolean; noTrack: boolean; store: string | undefined; json: boolean }
export const registryExport = defineCommand<RegistryExportFlags>({
  name: 'registry export',
  summary: 'Export an adapter version to a PEFT folder (adapter_config.json + adapter_model.safetensors + lorakit.json with its base)',
  positionals: '<ref>',
  example: 'lorakit registry export support@production --out /srv/adapters/support',
  flags: {
    out: { arg: '<dir>', help: 'Folder to write (new, empty, or an earlier export)', required: true, short: 'o' },
    overwrite: { help: 'Replace a non-empty folder that export did not write (never the registry store)', default: false },
    noTrack: { help: 'Do not record the export as a run in the experiment tracker', default: false },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [ref] = needPositionals('registry export', positionals, ['<ref>']);
    const { Registry } = await import('../../registry/index.js');
    const { failRun, finishRun, startTracking } = await import('../tracking.js');
    const reg = Registry.open(undefined, { store: flags.store });
    const run = flags.noTrack ? null : await startTracking('export', { ref, out: flags.out, overwrite: flags.overwrite }, ref, flags.store);
    try {
      const r = await reg.export(ref, flags.out, { overwrite: flags.overwrite });
      const v = r.version, bytes = r.files.reduce((a, f) => a + f.bytes, 0);
      run?.setLineage({
        adapterVersion: v.ref, baseFingerprint: v.baseFingerprint, ...(v.datasetFingerprint ? { datasetFingerprint: v.datasetFingerprint } : {}),
        ...(v.runId ? { parentRunId: v.runId } : {}),
      });
      run?.logMetrics(0, { files: r.files.length, bytes });
      run?.logArtifact('adapter', r.dir, 'adapter');
      await finishRun(run, { ref: v.ref, files: r.files.length, bytes });
      io.done(
        { ref: v.ref, dir: r.dir, files: r.files, runId: run?.id ?? null },
        `exported ${v.ref} to ${r.dir} (${r.files.length} files, ${fmtBytes(bytes)})`,
      );
    } catch (e) {
      await failRun(run)(e);
    } finally { await reg.close(); }
  },
});
