// The promotion gate: domain tasks must improve by the suite's margins, and the gain must be real (its
// paired-bootstrap interval excludes zero); no general task may regress beyond its limit; train/serve parity must
// hold on every path, and a path that could not run counts against it. A suite with no gated domain task, or a
// gated task with no items, fails: the gate never passes vacuously (issue 13). Every check is listed with its value
// and limit; each failed one becomes a plain-language reason.
import type { GateCheck, GateResult, GateSpec, ParityReport, TaskResult } from './types.js';

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const ci = (t: TaskResult): string => (t.delta ? ` (CI ${f(t.delta.ci[0])} to ${f(t.delta.ci[1])})` : '');

/** Why a domain gain is not real, or null when it is: the interval must lie wholly on the improving side. */
function notSignificant(t: TaskResult, spec: GateSpec): string | null {
  if (!spec.requireSignificantGain || !t.delta) return null;
  if (t.items < 2) return `${t.items} item${t.items === 1 ? '' : 's'} cannot show that a gain is real (at least 2 are needed for an interval)`;
  const perplexity = t.metric === 'perplexity';
  const bound = perplexity ? t.delta.ci[1] : t.delta.ci[0]; // the bound least favourable to the adapter
  if (perplexity ? bound < 0 : bound > 0) return null;
  return `its interval of the change reaches ${f(bound)}${perplexity ? '%' : ' points'}, so the gain is not distinguishable from none`;
}

function domainCheck(t: TaskResult, spec: GateSpec, useCi: boolean): GateCheck {
  const d = t.delta!;
  const perplexity = t.metric === 'perplexity';
  // Perplexity: drop in % (positive = better); accuracy: gain in points. With 'ci', the bound least favourable.
  const value = perplexity ? (useCi ? -d.ci[1] : -d.value) : (useCi ? d.ci[0] : d.value);
  const limit = perplexity ? spec.domainPerplexityDropPct : spec.domainAccuracyGainPts;
  const minOk = value >= limit;
  const why = notSignificant(t, spec);
  const passed = minOk && why === null;
  const bound = useCi ? ' at the CI bound' : '';
  const sig = spec.requireSignificantGain ? ', with an interval that excludes no change' : '';
  const tail = why && minOk ? `; ${why}` : why ? `; also ${why}` : '';
  if (perplexity) {
    const moved = d.value === 0 ? 'did not change' : `${-d.value > 0 ? 'fell' : 'rose'} ${f(Math.abs(d.value))}%`;
    return { check: 'domain_perplexity_drop', task: t.name, value, limit, passed,
      message: `domain perplexity of '${t.name}' ${moved} (${f(t.base.value, 3)} → ${f(t.adapter!.value, 3)})${ci(t)}; `
        + `${passed ? 'required: a fall of' : 'needs to fall by'} at least ${limit}%${bound}${sig}${tail}` };
  }
  return { check: 'domain_accuracy_gain', task: t.name, value, limit, passed,
    message: `domain accuracy of '${t.name}' changed by ${f(d.value)} points (${f(t.base.value, 1)}% → ${f(t.adapter!.value, 1)}%)${ci(t)}; `
      + `${passed ? 'required: a gain of' : 'needs to gain'} at least ${limit} points${bound}${sig}${tail}` };
}

function generalCheck(t: TaskResult, spec: GateSpec, useCi: boolean): GateCheck {
  // Regression (positive = worse); with 'ci' only a regression the whole interval shows fails.
  const limit = t.max_regression_pct ?? spec.maxGeneralRegressionPct;
  const r = t.regression!;
  const reg = useCi ? r.ci[0] : r.value;
  const ok = reg <= limit;
  const unit = t.metric === 'perplexity' ? '%' : ' points';
  const what = t.metric === 'perplexity'
    ? `perplexity ${r.value >= 0 ? 'rose' : 'fell'} ${f(Math.abs(r.value))}% (${f(t.base.value, 3)} → ${f(t.adapter!.value, 3)})`
    : `accuracy ${r.value >= 0 ? 'fell' : 'rose'} ${f(Math.abs(r.value))} points (${f(t.base.value, 1)}% → ${f(t.adapter!.value, 1)}%)`;
  return { check: 'general_regression', task: t.name, value: reg, limit, passed: ok,
    message: `general task '${t.name}': ${what}${ci(t)}; ${ok ? 'within' : 'beyond'} the allowed ${limit}${unit}`,
  };
}

function parityCheck(parity: ParityReport | null): GateCheck {
  if (!parity) return { check: 'parity', task: null, value: null, limit: null, passed: false, message: 'train/serve parity was not checked' };
  // A 'measured' path (another precision than training's: a QLoRA adapter merged into float weights) reports its
  // drift and does not gate, as in runParity.
  const measured = parity.paths.filter((p) => p.status === 'measured');
  const gated = parity.paths.filter((p) => p.status !== 'measured');
  const bad = gated.filter((p) => p.status !== 'ok' && p.status !== 'reference');
  const worst = Math.max(0, ...gated.map((p) => p.max_rel_logit_diff ?? 0));
  const passed = parity.passed && bad.length === 0;
  const label = (p: (typeof bad)[number]): string => `${p.name}${p.status === 'missing' ? ' (could not run)' : ''}: ${p.reason ?? p.status}`;
  const note = measured.map((p) => `; measured, not gated: ${p.name} (${p.reason ?? 'drift'})`).join('');
  const ties = gated.filter((p) => p.status === 'ok' && p.reason).map((p) => `; ${p.name}: ${p.reason}`).join(''); // near ties
  return { check: 'parity', task: null, value: worst, limit: parity.tolerance, passed,
    message: passed
      ? `train/serve parity holds on ${gated.map((p) => p.name).join(', ')} `
        + `(max relative logit difference ${worst.toExponential(2)} <= ${parity.tolerance}; greedy tokens identical)${ties}${note}`
      : `train/serve parity broken: ${bad.length ? bad.map(label).join('; ') : 'no reference path ran'}${note}` };
}

export function decideGate(spec: GateSpec, tasks: readonly TaskResult[], parity: ParityReport | null, hasAdapter: boolean): GateResult {
  const thresholds = {
    domain_perplexity_drop_pct: spec.domainPerplexityDropPct, domain_accuracy_gain_pts: spec.domainAccuracyGainPts,
    max_general_regression_pct: spec.maxGeneralRegressionPct, require_significant_gain: spec.requireSignificantGain,
    require_parity: spec.requireParity,
  };
  // Base only: nothing was promoted, so nothing passed.
  if (!hasAdapter) return { applied: false, passed: false, decide_on: spec.decideOn, thresholds, checks: [], reasons: [] };
  const useCi = spec.decideOn === 'ci';
  const checks: GateCheck[] = [];
  const domain = tasks.filter((t) => t.gated && t.tag === 'domain');
  const scored = domain.filter((t) => t.items > 0 && t.delta && t.regression);
  if (scored.length === 0) {
    const why = domain.length === 0 ? 'the suite has no gated domain task'
      : `its gated domain task${domain.length > 1 ? 's have' : ' has'} no scored items`;
    checks.push({ check: 'domain_coverage', task: null, value: scored.length, limit: 1, passed: false,
      message: `${why}, so it cannot show that the adapter improves anything; add a domain task (tag: domain) that is gated` });
  }
  for (const t of tasks) {
    if (!t.gated) continue;
    if (t.items === 0 || !t.delta || !t.regression) {
      if (t.tag === 'general' || scored.length > 0) {
        const check = t.tag === 'general' ? 'general_regression' : t.metric === 'perplexity' ? 'domain_perplexity_drop' : 'domain_accuracy_gain';
        const message = `task '${t.name}' has no scored items, so it cannot be judged`;
        checks.push({ check, task: t.name, value: null, limit: null, passed: false, message });
      }
      continue;
    }
    checks.push(t.tag === 'domain' ? domainCheck(t, spec, useCi) : generalCheck(t, spec, useCi));
  }
  if (spec.requireParity) checks.push(parityCheck(parity));
  const reasons = checks.filter((c) => !c.passed).map((c) => c.message);
  return { applied: true, passed: reasons.length === 0, decide_on: spec.decideOn, thresholds, checks, reasons };
}
