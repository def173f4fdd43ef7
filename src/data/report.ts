// The curation report as text: a Markdown summary and a self-contained HTML page (counts per stage, token
// length histograms as inline SVG, PII counts, examples of what each rejection reason and filter removed).
import type { CurationReport, Histogram, ReportExample } from './types.js';

/** Log2 buckets of token counts: [0,1) [1,2) [2,4) … [2^19, ∞). */
export class LogHistogram {
  readonly counts = new Array<number>(21).fill(0);
  add(v: number): void {
    const b = v < 1 ? 0 : Math.min(20, 1 + Math.floor(Math.log2(v)));
    this.counts[b]++;
  }
  toJSON(): Histogram {
    return { edges: this.counts.map((_, i) => (i === 0 ? 0 : 2 ** (i - 1))), counts: [...this.counts] };
  }
}

const label = (h: Histogram, i: number): string =>
  i === h.edges.length - 1
    ? `≥${h.edges[i]}`
    : h.edges[i + 1] - h.edges[i] === 1
      ? `${h.edges[i]}`
      : `${h.edges[i]}–${h.edges[i + 1] - 1}`;
const used = (h: Histogram): number[] => {
  const idx = h.counts.map((c, i) => (c > 0 ? i : -1)).filter((i) => i >= 0);
  if (idx.length === 0) return [];
  const out: number[] = [];
  for (let i = idx[0]; i <= idx[idx.length - 1]; i++) out.push(i);
  return out;
};

export function textBars(h: Histogram, width = 40): string {
  const max = Math.max(1, ...h.counts);
  const bar = (i: number): string => '█'.repeat(Math.round((h.counts[i] / max) * width)).padEnd(width);
  return used(h).map((i) => `${label(h, i).padStart(13)} | ${bar(i)} ${h.counts[i]}`).join('\n');
}

const MAX_INPUT_ROWS = 20;
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function svgHistogram(h: Histogram, title: string): string {
  const rows = used(h);
  const max = Math.max(1, ...h.counts);
  const bh = 18, w = 520, lw = 110;
  const bars = rows.map((i, k) => {
    const bw = Math.round((h.counts[i] / max) * (w - lw - 60));
    return `<text x="${lw - 6}" y="${k * bh + 13}" text-anchor="end">${esc(label(h, i))}</text>` +
      `<rect x="${lw}" y="${k * bh + 2}" width="${bw}" height="${bh - 4}" fill="#4a7bd0"/>` +
      `<text x="${lw + bw + 4}" y="${k * bh + 13}">${h.counts[i]}</text>`;
  }).join('');
  const height = Math.max(1, rows.length) * bh + 4;
  return `<figure><figcaption>${esc(title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${height}" font-size="11" font-family="sans-serif">${bars}</svg></figure>`;
}

function stageRows(r: CurationReport): [string, number][] {
  const c = r.counts;
  return [
    ['input records', c.input],
    ...Object.entries(r.rejectedByReason).map(([k, v]) => [`rejected: ${k}`, v] as [string, number]),
    ['exact duplicates', c.exactDuplicates],
    ...Object.entries(r.removedByFilter).map(([k, v]) => [`removed by filter: ${k}`, v] as [string, number]),
    ['near duplicates', c.nearDuplicates],
    ['kept', c.kept],
    ['  train', c.train],
    ['  eval', c.eval],
  ];
}

function exampleList(groups: Readonly<Record<string, readonly ReportExample[] | undefined>>): [string, readonly ReportExample[]][] {
  return Object.entries(groups).filter((e): e is [string, readonly ReportExample[]] => Boolean(e[1]?.length));
}

export function renderMarkdown(r: CurationReport): string {
  const c = r.counts;
  const boilerplate = r.boilerplate.enabled
    ? `${r.boilerplate.recordsChanged} records changed, ${r.boilerplate.charsRemoved} characters removed`
    : 'off';
  const L: string[] = ['# Data curation report', '',
    `${c.input} input records → ${c.kept} kept (${c.train} train, ${c.eval} eval); ${c.rejected} rejected, ${c.removed} removed by filters, ` +
    `${c.exactDuplicates} exact and ${c.nearDuplicates} near duplicates. Balanced: ${r.balanced ? 'yes' : 'NO'}.`, '',
    '## Stages', '', '| stage | records |', '|---|---:|', ...stageRows(r).map(([k, v]) => `| ${k} | ${v} |`), '',
    '## Inputs', '', '| file | format | records | bytes |', '|---|---|---:|---:|',
    ...r.inputs.slice(0, MAX_INPUT_ROWS).map((f) => `| ${f.file} | ${f.format} | ${f.records} | ${f.bytes} |`),
    ...(r.inputs.length > MAX_INPUT_ROWS ? [`| … and ${r.inputs.length - MAX_INPUT_ROWS} more files (see report.json) | | | |`] : []), '',
    `Token counter: ${r.tokenCounter}.`, '',
    '## PII', '', `${r.pii.recordsWithPii} kept records contained PII (${r.pii.redacted ? 'redacted' : 'not redacted; use --redact-pii'}).`, '',
    '| kind | count |', '|---|---:|', ...Object.entries(r.pii.byKind).map(([k, v]) => `| ${k} | ${v} |`), '',
    '## Near-duplicates', '',
    `MinHash ${r.nearDup.numPerm} permutations, ${r.nearDup.shingle}-word shingles, LSH ${r.nearDup.bands} bands × ${r.nearDup.rows} rows, ` +
    `Jaccard threshold ${r.nearDup.threshold}: ${r.nearDup.candidatePairs} candidate comparisons, ${r.nearDup.verifiedPairs} verified pairs, ` +
    `${r.nearDup.clusters} clusters (largest ${r.nearDup.largestCluster}), ${r.nearDup.seconds.toFixed(2)} s.`, '',
    `Boilerplate stripping: ${boilerplate}.`, '',
    '## Token lengths', '', 'Valid records:', '', '```', textBars(r.lengths.valid), '```', '',
    'Kept records:', '', '```', textBars(r.lengths.kept), '```', '',
    '## Examples', ''];
  for (const [k, ex] of [...exampleList(r.examples.rejected), ...exampleList(r.examples.removed)]) {
    L.push(`### ${k}`, '');
    for (const e of ex) L.push(`- \`${e.loc}\`${e.detail ? ` (${e.detail})` : ''}: ${e.snippet.replace(/\s+/g, ' ').slice(0, 160)}`);
    L.push('');
  }
  L.push('## Timings', '',
    `read ${r.timings.readSeconds.toFixed(2)} s, near-dup ${r.timings.nearDupSeconds.toFixed(2)} s, write ${r.timings.writeSeconds.toFixed(2)} s; ` +
    `total ${r.timings.totalSeconds.toFixed(2)} s (${Math.round(r.timings.recordsPerSecond)} records/s).`, '');
  return L.join('\n');
}

const STYLE = 'body{font:14px/1.4 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}' +
  'table{border-collapse:collapse;margin:.5em 0}\n' +
  'td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}td:last-child{text-align:right}' +
  'pre{white-space:pre-wrap;background:#f5f5f5;padding:4px;max-height:8em;overflow:auto}\n' +
  '.bad{color:#b00}.ok{color:#070}figure{margin:1em 0}figcaption{font-weight:600}';

export function renderHtml(r: CurationReport): string {
  const c = r.counts;
  const table = (head: string[], rows: (string | number)[][]): string => {
    const cells = (row: (string | number)[]): string => row.map((v) => `<td>${esc(String(v))}</td>`).join('');
    return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((row) => `<tr>${cells(row)}</tr>`).join('')}</table>`;
  };
  const item = (e: ReportExample): string =>
    `<li><code>${esc(e.loc)}</code>${e.detail ? ` <em>${esc(e.detail)}</em>` : ''}<pre>${esc(e.snippet)}</pre></li>`;
  const examples = [...exampleList(r.examples.rejected), ...exampleList(r.examples.removed)]
    .map(([k, ex]) => `<h3>${esc(k)}</h3><ul>${ex.map(item).join('')}</ul>`).join('');
  const kept = `<b>${c.kept}</b> kept (${c.train} train, ${c.eval} eval)`;
  const balanced = `<span class="${r.balanced ? 'ok' : 'bad'}">Balanced: ${r.balanced ? 'yes' : 'NO'}</span>`;
  const inputRows: (string | number)[][] = [
    ...r.inputs.slice(0, MAX_INPUT_ROWS).map((f) => [f.file, f.format, f.records, f.bytes]),
    ...(r.inputs.length > MAX_INPUT_ROWS ? [[`… and ${r.inputs.length - MAX_INPUT_ROWS} more files (see report.json)`, '', '', '']] : []),
  ];
  const skipped = r.skippedFiles.length ? ` ${r.skippedFiles.length} files in input folders were skipped (unknown extension).` : '';
  const pii = `<p>${r.pii.recordsWithPii} kept records contained PII (${r.pii.redacted ? 'redacted' : 'not redacted'}).</p>`;
  const nd = r.nearDup;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>lorakit data curation report</title>
<style>${STYLE}</style></head><body>
<h1>Data curation report</h1>
<p><b>${c.input}</b> input records → ${kept}; ${c.rejected} rejected, ${c.removed} removed by filters,
${c.exactDuplicates} exact and ${c.nearDuplicates} near duplicates. ${balanced}.</p>
<h2>Stages</h2>${table(['stage', 'records'], stageRows(r))}
<h2>Inputs</h2>${table(['file', 'format', 'records', 'bytes'], inputRows)}
<p>Token counter: ${esc(r.tokenCounter)}.${skipped}</p>
<h2>Token lengths</h2>${svgHistogram(r.lengths.valid, 'Valid records')}${svgHistogram(r.lengths.kept, 'Kept records')}
<h2>PII</h2>${pii}${table(['kind', 'count'], Object.entries(r.pii.byKind))}
<h2>Near-duplicates</h2><p>MinHash ${nd.numPerm} permutations, ${nd.shingle}-word shingles, LSH ${nd.bands}×${nd.rows},
threshold ${nd.threshold}: ${nd.verifiedPairs} verified pairs in ${nd.clusters} clusters (largest ${nd.largestCluster}).</p>
<h2>Examples of what was removed</h2>${examples || '<p>None.</p>'}
<h2>Timings</h2><p>total ${r.timings.totalSeconds.toFixed(2)} s, ${Math.round(r.timings.recordsPerSecond)} records/s.</p>
</body></html>
`;
}
