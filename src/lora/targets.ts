// Which modules an adapter covers, with each one's rank and scaling: PEFT's check_target_module_exists and
// get_pattern_key semantics. A target that matches nothing is an error, not a silent skip.
import { LorakitError } from '../errors.js';
import type { LinearSpec } from '../models/architecture.js';
import type { LoraConfig } from './config.js';
import { loraScaling } from './linear.js';

export interface LoraSite {
  readonly spec: LinearSpec;
  readonly r: number;
  readonly alpha: number;
  readonly scaling: number;
  /** PEFT state-dict keys, e.g. 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'. */
  readonly keyA: string;
  readonly keyB: string;
}

export const peftKey = (path: string, which: 'A' | 'B'): string => `base_model.model.${path}.lora_${which}.weight`;

function layerIndex(path: string, pattern: string | null): number | null {
  const names = pattern ? [pattern] : ['layers', 'h', 'blocks', 'layer'];
  for (const n of names) {
    const m = new RegExp(`(?:^|\\.)${n}\\.(\\d+)\\.`).exec(path);
    if (m) return Number(m[1]);
  }
  return null;
}

function patternValue(pattern: Readonly<Record<string, number>>, path: string): number | undefined {
  const key = Object.keys(pattern).find((k) => new RegExp(`(.*\\.)?(${k})$`).test(path));
  return key === undefined ? undefined : pattern[key];
}

export function resolveSites(cfg: LoraConfig, modules: readonly LinearSpec[], outputHead = 'lm_head'): LoraSite[] {
  const t = cfg.target_modules;
  let matched: LinearSpec[];
  if (t === 'all-linear' || (Array.isArray(t) && t.length === 1 && t[0] === 'all-linear')) {
    matched = modules.filter((m) => !m.path.endsWith(outputHead));
  } else if (typeof t === 'string') {
    const re = new RegExp(`^(?:${t})$`);
    matched = modules.filter((m) => re.test(m.path));
    if (matched.length === 0) {
      throw new LorakitError(
        'LK_LORA_CONFIG',
        `target_modules regex ${JSON.stringify(t)} matches no linear module of this model`,
        { hint: `modules look like '${modules[0]?.path}'` },
      );
    }
  } else {
    const unmatched = (t as readonly string[]).filter((name) => !modules.some((m) => m.path === name || m.path.endsWith(`.${name}`)));
    if (unmatched.length) {
      const names = [...new Set(modules.map((m) => m.path.split('.').pop()!))];
      throw new LorakitError(
        'LK_LORA_CONFIG',
        `target_modules ${JSON.stringify(unmatched)} match${unmatched.length === 1 ? 'es' : ''} no linear module of this model; ` +
          `it has: ${names.join(', ')}`,
      );
    }
    matched = modules.filter((m) => (t as readonly string[]).some((name) => m.path === name || m.path.endsWith(`.${name}`)));
  }
  if (cfg.layers_to_transform) {
    const keep = new Set(cfg.layers_to_transform);
    matched = matched.filter((m) => {
      const i = layerIndex(m.path, cfg.layers_pattern);
      return i !== null && keep.has(i);
    });
    if (matched.length === 0) {
      throw new LorakitError('LK_LORA_CONFIG', `layers_to_transform ${JSON.stringify(cfg.layers_to_transform)} leaves no module to adapt`);
    }
  }
  return matched.map((spec) => {
    const r = patternValue(cfg.rank_pattern, spec.path) ?? cfg.r;
    const alpha = patternValue(cfg.alpha_pattern, spec.path) ?? cfg.lora_alpha;
    return { spec, r, alpha, scaling: loraScaling(alpha, r, cfg.use_rslora), keyA: peftKey(spec.path, 'A'), keyB: peftKey(spec.path, 'B') };
  });
}
