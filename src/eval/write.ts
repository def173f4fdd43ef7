// Writes an evaluation to a folder: report.json (what the registry stores), report.md (for people) and
// items.jsonl (per-item scores of base and adapter, to see which items moved). Each file is written atomically.
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { renderMarkdown } from './markdown.js';
import type { EvalReport, ItemRecord } from './types.js';

export function writeEvalReport(dir: string, report: EvalReport, items: readonly ItemRecord[]): { json: string; markdown: string; items: string } {
  const paths = { json: join(dir, 'report.json'), markdown: join(dir, 'report.md'), items: join(dir, 'items.jsonl') };
  writeFileAtomic(paths.json, JSON.stringify(report, null, 2) + '\n');
  writeFileAtomic(paths.markdown, renderMarkdown(report));
  writeFileAtomic(paths.items, items.map((i) => JSON.stringify(i)).join('\n') + (items.length ? '\n' : ''));
  return paths;
}

/** The report without wall-clock fields, for comparing two runs (determinism) or storing a stable digest. */
export function stableReport(r: EvalReport): Omit<EvalReport, 'timing' | 'created_at'> {
  const { timing: _t, created_at: _c, ...rest } = r;
  return rest;
}
