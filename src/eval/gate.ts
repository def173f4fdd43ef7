// The promotion gate: domain tasks must improve by the suite's margins, no general task may regress beyond
// its limit, and train/serve parity must hold. Every check is listed with its value and limit; each failed
// one becomes a plain-language reason.
import type { GateCheck, GateResult, GateSpec, ParityReport, TaskResult } from './types.js';

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const ci = (t: TaskResult): string => (t.delta ? ` (CI ${f(t.delta.ci[0])} to ${f(t.delta.ci[1])})` : '');

export function decideGate(spec: GateSpec, tasks: readonly TaskResult[], parity: ParityReport | null, hasAdapter: boolean): GateResult {
  const thresholds = {
    domain_perplexity_drop_pct: spec.domainPerplexityDropPct, domain_accuracy_gain_pts: spec.domainAccuracyGainPts,
    max_general_regression_pct: spec.maxGeneralRegressionPct, require_parity: spec.requireParity,
  };
  if (!hasAdapter) return { applied: false, passed: true, decide_on: spec.decideOn, thresholds, checks: [], reasons: [] };
  const useCi = spec.decideOn === 'ci';
  const checks: GateCheck[] = [];
  for (const t of tasks) {
    if (!t.gated || !t.delta || !t.regression) continue;
    if (t.tag === 'domain' && t.metric === 'perplexity') {
      // Drop in % (positive = better); with 'ci' the smallest drop the interval allows.
      const drop = useCi ? -t.delta.ci[1] : -t.delta.value;
      const ok = drop >= spec.domainPerplexityDropPct;
      checks.push({ check: 'domain_perplexity_drop', task: t.name, value: drop, limit: spec.domainPerplexityDropPct, passed: ok,
        message: `domain perplexity of '${t.name}' ${-t.delta.value >= 0 ? 'fell' : 'rose'} ${f(Math.abs(t.delta.value))}% (${f(t.base.value, 3)} → ${f(t.adapter!.value, 3)})${ci(t)}; ${ok ? 'required: a fall of' : 'needs to fall by'} at least ${spec.domainPerplexityDropPct}%${useCi ? ' at the CI bound' : ''}` });
    } else if (t.tag === 'domain') {
      const gain = useCi ? t.delta.ci[0] : t.delta.value;
      const ok = gain >= spec.domainAccuracyGainPts;
      checks.push({ check: 'domain_accuracy_gain', task: t.name, value: gain, limit: spec.domainAccuracyGainPts, passed: ok,
        message: `domain accuracy of '${t.name}' changed by ${f(t.delta.value)} points (${f(t.base.value, 1)}% → ${f(t.adapter!.value, 1)}%)${ci(t)}; ${ok ? 'required: a gain of' : 'needs to gain'} at least ${spec.domainAccuracyGainPts} points${useCi ? ' at the CI bound' : ''}` });
    } else {
      // Regression (positive = worse); with 'ci' only a regression the whole interval shows fails.
      const limit = t.max_regression_pct ?? spec.maxGeneralRegressionPct;
      const reg = useCi ? t.regression.ci[0] : t.regression.value;
      const ok = reg <= limit;
      const what = t.metric === 'perplexity' ? `perplexity ${t.regression.value >= 0 ? 'rose' : 'fell'} ${f(Math.abs(t.regression.value))}% (${f(t.base.value, 3)} → ${f(t.adapter!.value, 3)})` : `accuracy ${t.regression.value >= 0 ? 'fell' : 'rose'} ${f(Math.abs(t.regression.value))} points (${f(t.base.value, 1)}% → ${f(t.adapter!.value, 1)}%)`;
      checks.push({ check: 'general_regression', task: t.name, value: reg, limit, passed: ok,
        message: `general task '${t.name}': ${what}${ci(t)}; ${ok ? 'within' : 'beyond'} the allowed ${limit}${t.metric === 'perplexity' ? '%' : ' points'}` });
    }
  }
  if (spec.requireParity) {
    if (!parity) checks.push({ check: 'parity', task: null, value: null, limit: null, passed: false, message: 'train/serve parity was not checked' });
    else {
      const bad = parity.paths.filter((p) => p.status === 'drift' || p.status === 'error');
      const missing = parity.paths.filter((p) => p.status === 'missing').map((p) => p.name);
      const worst = Math.max(0, ...parity.paths.map((p) => p.max_rel_logit_diff ?? 0));
      checks.push({ check: 'parity', task: null, value: worst, limit: parity.tolerance, passed: parity.passed,
        message: parity.passed
          ? `train/serve parity holds on ${parity.paths.filter((p) => p.status === 'ok' || p.status === 'reference').map((p) => p.name).join(', ')} (max relative logit difference ${worst.toExponential(2)} <= ${parity.tolerance}; greedy tokens identical)${missing.length ? `; not checked: ${missing.join(', ')}` : ''}`
          : `train/serve parity broken: ${bad.map((p) => `${p.name}: ${p.reason}`).join('; ')}` });
    }
  }
  const reasons = checks.filter((c) => !c.passed).map((c) => c.message);
  return { applied: true, passed: reasons.length === 0, decide_on: spec.decideOn, thresholds, checks, reasons };
}
