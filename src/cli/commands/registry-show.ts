// `lorakit registry show <ref>`: one version with its base, files, eval reports and history.
import { defineCommand } from '../command.js';
import { fmtBytes, fmtMetrics, fmtTime, needPositionals, storeFlag } from './registry-common.js';

const move = (from: number | null, to: number | null): string =>
  from && to && from !== to ? `v${from} -> v${to}` : from && !to ? `v${from} -> (none)` : to ? `v${to}` : '';

export interface RegistryShowFlags { store: string | undefined; json: boolean }
export const registryShow = defineCommand<RegistryShowFlags>({
  name: 'registry show',
  summary: "Show an adapter version ('name', 'name@v3', 'name@production') with files, evals and history",
  positionals: '<ref>',
  example: 'lorakit registry show support@production',
  flags: { store: storeFlag, json: { help: 'JSON output', default: false } },
  async run(flags, io, positionals) {
    const [ref] = needPositionals('registry show', positionals, ['<ref>']);
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const d = await reg.show(ref);
      const v = d.version;
      const lines = [
        `${v.ref}  (${v.fingerprint})`,
        `  base:     ${await reg.describeBase(v.baseFingerprint)}${d.base ? `  ${d.base.architecture}` : ''}`,
        `  quant:    ${v.baseQuantization} (${v.baseQuantization === 'none' ? 'trained on the full-precision base' : 'base precision at training'})`,
        `  dataset:  ${v.datasetFingerprint ?? '-'}`,
        `  run:      ${v.runId ?? '-'}`,
        `  stage:    ${v.stage}   aliases: ${v.aliases.join(', ') || '-'}   tags: ${v.tags.join(', ') || '-'}`,
        `  lora:     r=${String(v.loraConfig.r ?? '?')} alpha=${String(v.loraConfig.lora_alpha ?? '?')} ` +
          `targets=${JSON.stringify(v.loraConfig.target_modules ?? null)}`,
        `  metrics:  ${fmtMetrics(v.metrics) || '-'}`,
        `  created:  ${fmtTime(v.createdAt)} by ${v.createdBy} from ${v.source}`,
        '  files:', ...d.files.map((f) => `    ${f.name.padEnd(28)} ${fmtBytes(f.bytes).padStart(10)}  ${f.sha256.slice(0, 16)}`),
        '  evals:',
        ...(d.evalReports.length ? d.evalReports.map((e) => `    ${fmtTime(e.createdAt)} ${e.suite}: ${e.passed ? 'passed' : 'FAILED'}`) : ['    -']),
        '  history:',
        ...d.history.map((h) => '    ' + [fmtTime(h.at), `${h.who}:`, h.kind, h.target ?? '', move(h.fromVersion, h.toVersion),
          h.forced ? '(FORCED past the gate)' : '', h.why ? `- ${h.why}` : ''].filter(Boolean).join(' ')),
      ];
      io.log(lines.join('\n'));
      io.done(d);
    } finally { await reg.close(); }
  },
});
