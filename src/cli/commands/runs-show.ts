// `lorakit runs show <id>`: config, environment, status, final metrics, artifacts and lineage of one run.
import { defineCommand } from '../command.js';
import { fmtBytes, fmtMetrics, fmtTime, needPositionals, storeFlag } from './registry-common.js';

export interface RunsShowFlags { metrics: boolean; store: string | undefined; json: boolean }
export const runsShow = defineCommand<RunsShowFlags>({
  name: 'runs show',
  summary: 'Show one tracked run (id or unique prefix)',
  positionals: '<id>',
  example: 'lorakit runs show 20261129-0503',
  flags: {
    metrics: { help: 'Include every step metric in --json output', default: false },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [id] = needPositionals('runs show', positionals, ['<id>']);
    const { Tracker, flatten } = await import('../../track/index.js');
    const t = await Tracker.open(undefined, { store: flags.store });
    try {
      const r = await t.getRun(id);
      const final = await t.finalMetrics(r.id);
      const artifacts = await t.artifacts(r.id);
      const flat = flatten({ ...r.config, ...r.params });
      io.log([
        `${r.id}  ${r.kind}${r.name ? ` '${r.name}'` : ''}  ${r.status}`,
        `  started ${fmtTime(r.startedAt)}  ended ${fmtTime(r.endedAt) || '-'}  pid ${r.pid} on ${r.host}`,
        `  env: node ${r.env.node}, lorakit ${r.env.lorakit}, ${r.env.os} ${r.env.arch}, ${r.env.cpu} x${r.env.cores}, ${r.env.memoryGiB} GiB`,
        `  run dir: ${r.runDir ?? '-'}`,
        '  config:', ...Object.entries(flat).map(([k, v]) => `    ${k} = ${JSON.stringify(v)}`),
        `  final metrics: ${fmtMetrics(final) || '-'}`,
        `  lineage: ${Object.entries(r.lineage).map(([k, v]) => `${k}=${v}`).join('  ') || '-'}`,
        `  summary: ${Object.keys(r.summary).length ? JSON.stringify(r.summary) : '-'}`,
        '  artifacts:',
        ...(artifacts.length
          ? artifacts.map((a) => `    ${a.name} (${a.kind}) ${a.path}${a.bytes !== null ? ` ${fmtBytes(a.bytes)}` : ''}`)
          : ['    -']),
      ].join('\n'));
      io.done({ run: r, final, artifacts, ...(flags.metrics ? { metrics: await t.metrics(r.id) } : {}) });
    } finally { await t.close(); }
  },
});
