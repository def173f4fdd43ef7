// Evaluation suites: a YAML or JSON file (or a bundled name such as 'general') → a validated Suite. One pass
// checks every field and reports all problems at once; unknown keys are refused (a misspelt gate threshold
// must not silently fall back to its default).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { LorakitError } from '../errors.js';
import { bundledSuites } from './suites/index.js';
import type { BuiltinSource, GateSpec, MatchKind, ParitySpec, SourceSpec, Suite, Tag, TaskSpec } from './types.js';

export const DEFAULT_PROBES: readonly string[] = [
  'The',
  'In the beginning of the year',
  'The committee said that',
  'Once upon a time, there was a',
  'Mr. Speaker, the state of the Union is',
  'Question: What is the capital of France?\nAnswer:',
];

/** The default gate requires a real domain gain (issue 13): at least 1% lower perplexity or 1 point more accuracy,
 *  with a paired-bootstrap interval that excludes no change. An adapter that changes nothing cannot pass it. */
export const gateDefaults: GateSpec = {
  domainPerplexityDropPct: 1, domainAccuracyGainPts: 1, maxGeneralRegressionPct: 2, requireSignificantGain: true, requireParity: true,
  decideOn: 'point',
};
export const parityDefaults: ParitySpec = { probes: DEFAULT_PROBES, maxNewTokens: 16, tolerance: 1e-4, mergedDtype: 'F32' };

const BUILTINS: readonly BuiltinSource[] = ['brown-heldout', 'sotu-heldout', 'brown-cloze'];
const MATCHES: readonly MatchKind[] = ['exact', 'contains', 'regex', 'numeric'];
type Raw = Record<string, unknown>;

/** Collects problems as 'path: message' and reads typed fields off raw objects. */
class Checker {
  readonly problems: string[] = [];
  bad(path: string, msg: string): void { this.problems.push(`${path}: ${msg}`); }
  obj(v: unknown, path: string): Raw | undefined {
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Raw;
    this.bad(path, `expected a mapping, got ${JSON.stringify(v)}`);
    return undefined;
  }
  keys(o: Raw, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.bad(path ? `${path}.${k}` : k, `unknown key (allowed: ${allowed.join(', ')})`);
  }
  str(o: Raw, k: string, path: string, def?: string): string {
    const v = o[k];
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== 'string' || (def === undefined && v === '')) {
      this.bad(`${path}${k}`, `expected a${def === undefined ? ' non-empty' : ''} string, got ${JSON.stringify(v)}`);
      return def ?? '';
    }
    return v;
  }
  num(o: Raw, k: string, path: string, def: number, lo: number, hi: number, int = false): number {
    const v = o[k];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
      this.bad(`${path}${k}`, `expected ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
      return def;
    }
    return v;
  }
  optInt(o: Raw, k: string, path: string, lo = 1): number | null {
    return o[k] === undefined || o[k] === null ? null : this.num(o, k, path, lo, lo, 1e12, true);
  }
  bool(o: Raw, k: string, path: string, def: boolean): boolean {
    const v = o[k];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') { this.bad(`${path}${k}`, `expected true or false, got ${JSON.stringify(v)}`); return def; }
    return v;
  }
  oneOf<T extends string>(o: Raw, k: string, path: string, values: readonly T[], def?: T): T {
    const v = o[k];
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.bad(`${path}${k}`, `expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
      return def ?? values[0];
    }
    return v as T;
  }
  strings(o: Raw, k: string, path: string, def: readonly string[]): readonly string[] {
    const v = o[k];
    if (v === undefined) return def;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
      this.bad(`${path}${k}`, `expected a list of strings, got ${JSON.stringify(v)}`);
      return def;
    }
    return v as string[];
  }
}

function parseSource(c: Checker, t: Raw, path: string): SourceSpec {
  if (t.items !== undefined) {
    if (t.source !== undefined) c.bad(`${path}items`, "give either 'source' or 'items', not both");
    if (!Array.isArray(t.items) || t.items.length === 0) { c.bad(`${path}items`, 'expected a non-empty list'); return { kind: 'inline', items: [] }; }
    return { kind: 'inline', items: t.items };
  }
  const s = t.source;
  if (typeof s === 'string' && s !== '') return { kind: 'file', path: s };
  const o =
    s === undefined
      ? (c.bad(`${path}source`, "missing: a file path, {builtin: NAME} or inline 'items'"), undefined)
      : c.obj(s, `${path}source`);
  if (!o) return { kind: 'inline', items: [] };
  c.keys(o, `${path}source`, ['builtin', 'items', 'from_year', 'to_year']);
  const name = c.oneOf(o, 'builtin', `${path}source.`, BUILTINS);
  return {
    kind: 'builtin',
    name,
    items: c.optInt(o, 'items', `${path}source.`) ?? undefined,
    fromYear: c.optInt(o, 'from_year', `${path}source.`) ?? undefined,
    toYear: c.optInt(o, 'to_year', `${path}source.`) ?? undefined,
  };
}

const COMMON = ['name', 'type', 'tag', 'source', 'items', 'max_items', 'gated', 'max_regression_pct', 'description'];
const PER_TYPE: Record<TaskSpec['type'], readonly string[]> = {
  perplexity: ['window', 'stride', 'max_tokens_per_document', 'max_tokens', 'unit'],
  generation: ['match', 'tolerance', 'case_sensitive', 'max_new_tokens', 'stop', 'chat'],
  choice: ['delimiter', 'metric'],
};

function parseTask(c: Checker, raw: unknown, i: number): TaskSpec | undefined {
  const path = `tasks[${i}]`;
  const t = c.obj(raw, path);
  if (!t) return undefined;
  const type = c.oneOf(t, 'type', `${path}.`, ['perplexity', 'generation', 'choice'] as const);
  c.keys(t, path, [...COMMON, ...PER_TYPE[type]]);
  const p = `${path}.`;
  const common = {
    name: c.str(t, 'name', p), tag: c.oneOf<Tag>(t, 'tag', p, ['domain', 'general']), source: parseSource(c, t, p),
    maxItems: c.optInt(t, 'max_items', p), gated: c.bool(t, 'gated', p, true),
    maxRegressionPct: t.max_regression_pct === undefined ? null : c.num(t, 'max_regression_pct', p, 0, 0, 1e6),
  };
  if (common.name && !/^[A-Za-z0-9][\w.-]*$/.test(common.name)) c.bad(`${p}name`, `'${common.name}' must be letters, digits, '.', '_' or '-'`);
  if (type === 'perplexity') {
    const window = c.optInt(t, 'window', p, 2), stride = c.optInt(t, 'stride', p);
    if (window !== null && stride !== null && stride > window) c.bad(`${p}stride`, `must be <= window (${window}), got ${stride}`);
    return {
      ...common, type, window, stride, maxTokensPerDocument: c.optInt(t, 'max_tokens_per_document', p, 2), maxTokens: c.optInt(t, 'max_tokens', p, 2),
      unit: t.unit === undefined ? null : c.oneOf(t, 'unit', p, ['document', 'window'] as const),
    };
  }
  if (type === 'generation') {
    return {
      ...common, type, match: c.oneOf(t, 'match', p, MATCHES, 'exact'), tolerance: c.num(t, 'tolerance', p, 1e-6, 0, 1e12),
      caseSensitive: c.bool(t, 'case_sensitive', p, false), maxNewTokens: c.num(t, 'max_new_tokens', p, 32, 1, 4096, true),
      stop: c.strings(t, 'stop', p, ['\n']), chat: c.bool(t, 'chat', p, false),
    };
  }
  return { ...common, type, delimiter: c.str(t, 'delimiter', p, ' '), metric: c.oneOf(t, 'metric', p, ['acc', 'acc_norm'] as const, 'acc_norm') };
}

function parseGate(c: Checker, raw: unknown): GateSpec {
  if (raw === undefined) return gateDefaults;
  const g = c.obj(raw, 'gate');
  if (!g) return gateDefaults;
  c.keys(g, 'gate', [
    'domain_perplexity_drop_pct', 'domain_accuracy_gain_pts', 'max_general_regression_pct', 'require_significant_gain', 'require_parity', 'decide_on',
  ]);
  const spec: GateSpec = {
    domainPerplexityDropPct: c.num(g, 'domain_perplexity_drop_pct', 'gate.', gateDefaults.domainPerplexityDropPct, -1e6, 100),
    domainAccuracyGainPts: c.num(g, 'domain_accuracy_gain_pts', 'gate.', gateDefaults.domainAccuracyGainPts, -100, 100),
    maxGeneralRegressionPct: c.num(g, 'max_general_regression_pct', 'gate.', gateDefaults.maxGeneralRegressionPct, 0, 1e6),
    requireSignificantGain: c.bool(g, 'require_significant_gain', 'gate.', true),
    requireParity: c.bool(g, 'require_parity', 'gate.', true),
    decideOn: c.oneOf(g, 'decide_on', 'gate.', ['point', 'ci'] as const, 'point'),
  };
  // Without the interval rule, only positive margins keep an adapter that changes nothing from passing.
  if (!spec.requireSignificantGain) {
    const margins = [['domain_perplexity_drop_pct', spec.domainPerplexityDropPct], ['domain_accuracy_gain_pts', spec.domainAccuracyGainPts]] as const;
    for (const [k, v] of margins) {
      if (v <= 0) c.bad(`gate.${k}`, `must be > 0 when require_significant_gain is false (else an adapter that changes nothing passes), got ${v}`);
    }
  }
  return spec;
}

function parseParity(c: Checker, raw: unknown): ParitySpec {
  if (raw === undefined) return parityDefaults;
  const o = c.obj(raw, 'parity');
  if (!o) return parityDefaults;
  c.keys(o, 'parity', ['probes', 'max_new_tokens', 'tolerance', 'merged_dtype']);
  const probes = c.strings(o, 'probes', 'parity.', parityDefaults.probes);
  if (probes.length === 0 || probes.some((p) => p === '')) c.bad('parity.probes', 'expected non-empty strings');
  return {
    probes, maxNewTokens: c.num(o, 'max_new_tokens', 'parity.', parityDefaults.maxNewTokens, 1, 1024, true),
    tolerance: c.num(o, 'tolerance', 'parity.', parityDefaults.tolerance, 0, 1),
    mergedDtype: c.oneOf(o, 'merged_dtype', 'parity.', ['F32', 'BF16', 'F16', 'base'] as const, 'F32'),
  };
}

/** Validates a raw suite (parsed YAML/JSON). `origin` names it in errors; relative paths resolve against `baseDir`. */
export function parseSuite(raw: unknown, origin: string, baseDir: string): Suite {
  const c = new Checker();
  const o = c.obj(raw, '(suite)');
  if (!o) throw new LorakitError('LK_EVAL', `${origin}: a suite must be a mapping with 'name' and 'tasks'`);
  c.keys(o, '', ['name', 'description', 'seed', 'bootstrap', 'confidence', 'include', 'tasks', 'gate', 'parity']);
  const name = c.str(o, 'name', '');
  if (name && !/^[A-Za-z0-9][\w.-]*$/.test(name))
    c.bad('name', `'${name}' must be letters, digits, '.', '_' or '-' (the registry refers to suites by it)`);
  const tasks: TaskSpec[] = [];
  if (o.tasks !== undefined && !Array.isArray(o.tasks)) c.bad('tasks', 'expected a list');
  (Array.isArray(o.tasks) ? o.tasks : []).forEach((t, i) => { const p = parseTask(c, t, i); if (p) tasks.push(p); });
  for (const inc of c.strings(o, 'include', '', [])) {
    const b = bundledSuites[inc];
    if (!b) { c.bad('include', `no bundled suite '${inc}' (bundled: ${Object.keys(bundledSuites).join(', ')})`); continue; }
    tasks.push(...parseSuite(b, `bundled:${inc}`, baseDir).tasks);
  }
  if (tasks.length === 0) c.bad('tasks', "a suite needs at least one task (or 'include: [general]')");
  const seen = new Set<string>();
  for (const t of tasks) { if (seen.has(t.name)) c.bad('tasks', `task name '${t.name}' is used twice`); seen.add(t.name); }
  const suite: Suite = {
    name, description: o.description === undefined ? '' : c.str(o, 'description', '', ''), origin, baseDir,
    seed: c.num(o, 'seed', '', 0, 0, 2 ** 32 - 1, true), bootstrap: c.num(o, 'bootstrap', '', 1000, 10, 100000, true),
    confidence: c.num(o, 'confidence', '', 0.95, 0.5, 0.999), tasks, gate: parseGate(c, o.gate), parity: parseParity(c, o.parity),
  };
  if (c.problems.length) {
    throw new LorakitError('LK_EVAL', `${origin}: invalid evaluation suite:\n  - ${c.problems.join('\n  - ')}`, {
      details: { suite: origin, problems: c.problems },
    });
  }
  return suite;
}

/** A bundled suite by name ('general', 'sotu'), or a YAML/JSON file. */
export function loadSuite(nameOrFile: string): Suite {
  const bundled = bundledSuites[nameOrFile];
  if (bundled && !existsSync(nameOrFile)) return parseSuite(bundled, `bundled:${nameOrFile}`, process.cwd());
  if (!existsSync(nameOrFile) || !statSync(nameOrFile).isFile()) {
    throw new LorakitError('LK_EVAL', `no suite file '${nameOrFile}' and no bundled suite of that name`, {
      hint: `bundled suites: ${Object.keys(bundledSuites).join(', ')}`,
    });
  }
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(nameOrFile, 'utf8'));
  } catch (e) {
    throw new LorakitError('LK_EVAL', `${nameOrFile}: not valid YAML/JSON: ${(e as Error).message}`, { cause: e, details: { suite: nameOrFile } });
  }
  return parseSuite(raw, nameOrFile, dirname(resolve(nameOrFile)));
}
