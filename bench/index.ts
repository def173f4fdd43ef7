// `npm run bench [-- area...] [--json-out FILE]`: runs the benchmark areas, prints each as a table and all as JSON.
// Timing lives here, never in tests. Areas register below; each is loaded lazily.
import { writeFileSync } from 'node:fs';
import type { BenchArea, BenchCell, BenchTable } from './types.js';

const areas: Record<string, () => Promise<BenchArea>> = {
  engine: async () => (await import('./engine.js')).bench,
  models: async () => (await import('./models.js')).bench,
  train: async () => (await import('./train.js')).bench,
  eval: async () => (await import('./eval.js')).bench,
  registry: async () => (await import('./registry.js')).bench,
  data: async () => (await import('./data.js')).bench,
  serve: async () => (await import('./serve.js')).bench,
  quant: async () => (await import('./quant.js')).bench,
  scale: async () => (await import('./scale.js')).bench,
  cluster: async () => (await import('./cluster.js')).bench,
};

function fmt(v: BenchCell): string {
  if (v === null) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
  return v;
}

export function printTable(t: BenchTable): void {
  const cols = [...new Set(t.rows.flatMap((r) => Object.keys(r)))];
  const cells = t.rows.map((r) => cols.map((c) => fmt(r[c] ?? null)));
  const w = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  console.log(`\n## ${t.title}\n`);
  console.log('| ' + cols.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |');
  console.log('|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|');
  for (const r of cells) console.log('| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |');
  for (const n of t.notes ?? []) console.log(`\n${n}`);
}

const args = process.argv.slice(2);
const jsonOut = args.includes('--json-out') ? args[args.indexOf('--json-out') + 1] : undefined;
const wanted = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--json-out');
const selected = wanted.length ? wanted : Object.keys(areas);
const all: Record<string, readonly BenchTable[]> = {};
for (const name of selected) {
  const load = areas[name];
  if (!load) { console.error(`unknown bench area '${name}'; known: ${Object.keys(areas).join(', ')}`); process.exit(1); }
  const tables = await (await load())();
  for (const t of tables) printTable(t);
  all[name] = tables;
}
const json = JSON.stringify({ date: new Date().toISOString(), node: process.version, results: all }, null, 2);
console.log('\n```json\n' + json + '\n```');
if (jsonOut) writeFileSync(jsonOut, json + '\n');
