// The Markdown view of an evaluation report (report.md beside report.json): verdict and reasons first, then
// per-task and per-tag tables with intervals, the gate checks and the parity table.
import type { EvalReport, Estimate, TaskResult } from './types.js';

const num = (x: number, metric: 'perplexity' | 'accuracy'): string => (metric === 'perplexity' ? x.toFixed(3) : `${x.toFixed(1)}%`);
const est = (e: Estimate | null, metric: 'perplexity' | 'accuracy'): string =>
  e ? `${num(e.value, metric)} [${num(e.ci[0], metric)}, ${num(e.ci[1], metric)}]` : '–';
const sgn = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
const dlt = (t: Pick<TaskResult, 'delta'>): string =>
  t.delta
    ? `${sgn(t.delta.value)}${t.delta.unit === 'pct' ? '%' : ' pts'} [${sgn(t.delta.ci[0])}, ${sgn(t.delta.ci[1])}]`
    : '–';
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: EvalReport): string {
  const pct = Math.round(r.settings.confidence * 100);
  const adapter = r.adapter
    ? `${r.adapter.ref ? `**${r.adapter.ref}** ` : ''}\`${r.adapter.dir}\` (fingerprint \`${r.adapter.fingerprint.slice(0, 12)}\`)`
    : 'none';
  const out: string[] = [
    `# Evaluation: ${r.suite} — ${r.gate.applied ? (r.passed ? 'PASSED' : 'FAILED') : 'base only (no gate)'}`, '',
    r.summary, '',
    `- model: \`${r.model.dir}\` (${r.model.architecture}, ${r.model.parameters.toLocaleString('en-US')} parameters, ` +
      `fingerprint \`${r.model.fingerprint.slice(0, 12)}\`)`,
    `- adapter: ${adapter}`,
    `- suite: ${r.suite_origin}; bootstrap ${r.settings.bootstrap} resamples, seed ${r.settings.seed}, ${pct}% intervals in brackets`,
    `- ${r.created_at}, ${r.timing.seconds.toFixed(1)} s`, '',
  ];
  if (r.gate.reasons.length) out.push('## Why it failed', '', ...r.gate.reasons.map((x) => `- ${x}`), '');
  out.push('## Tasks', '', '| task | tag | metric | items | base | adapter | delta |', '|---|---|---|---:|---|---|---|');
  for (const t of r.tasks) {
    out.push(
      `| ${cell(t.name)}${t.gated ? '' : ' (not gated)'} | ${t.tag} | ${cell(t.metric_detail)} | ${t.items} | ` +
        `${est(t.base, t.metric)} | ${est(t.adapter, t.metric)} | ${dlt(t)} |`,
    );
  }
  out.push('', '## By tag', '', '| tag | metric | tasks | base | adapter | delta |', '|---|---|---|---|---|---|');
  for (const t of r.tags) {
    out.push(`| ${t.tag} | ${t.metric} | ${t.tasks.join(', ')} | ${est(t.base, t.metric)} | ${est(t.adapter, t.metric)} | ${dlt(t)} |`);
  }
  if (r.gate.applied) {
    const th = r.gate.thresholds;
    out.push('', `## Gate (decided on ${r.gate.decide_on === 'ci' ? 'confidence bounds' : 'point estimates'})`, '',
      `Thresholds: domain perplexity drop >= ${th.domain_perplexity_drop_pct}%, domain accuracy gain >= ${th.domain_accuracy_gain_pts} pts`
      + `${th.require_significant_gain ? ' (each with an interval that excludes no change)' : ''}`
      + `, general regression <= ${th.max_general_regression_pct}%`
      + ` (per-task overrides apply), parity ${th.require_parity ? 'required on every path' : 'not required'}.`, '');
    for (const c of r.gate.checks) out.push(`- ${c.passed ? 'ok' : '**FAIL**'} — ${c.message}`);
  }
  if (r.parity) {
    out.push('',
      `## Train/serve parity (tolerance ${r.parity.tolerance} relative, ${r.parity.max_new_tokens} greedy tokens, ` +
        `${r.parity.probes.length} probes)`, '',
      '| path | status | max rel. logit diff | max abs. logit diff | greedy tokens | note |', '|---|---|---|---|---|---|');
    for (const p of r.parity.paths) {
      const tokens = p.tokens_identical === undefined ? '–' : p.tokens_identical ? 'identical' : 'differ';
      out.push(
        `| ${p.name} | ${p.status} | ${p.max_rel_logit_diff?.toExponential(2) ?? '–'} | ${p.max_abs_logit_diff?.toExponential(2) ?? '–'} | ` +
          `${tokens} | ${cell(p.reason ?? p.description)} |`,
      );
    }
  }
  return out.join('\n') + '\n';
}
