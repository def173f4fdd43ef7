// An adapter in memory: resolved sites (module, rank, scaling) plus tensors under PEFT keys, and the binding the
// model graphs take (LinearAdapter). Validation against a base reports every bad tensor at once (mlx-lm habit).
import { LorakitError } from '../errors.js';
import type { LinearSpec } from '../models/architecture.js';
import type { LinearAdapter, TensorF32 } from '../models/causal-lm.js';
import type { LoraConfig } from './config.js';
import { loraLinear } from './linear.js';
import { type LoraSite, resolveSites } from './targets.js';

export interface Adapter {
  readonly config: LoraConfig;
  readonly sites: readonly LoraSite[];
  readonly tensors: Map<string, { data: Float32Array; dims: number[] }>;
}

export function trainableParameterCount(a: Pick<Adapter, 'tensors'>): number {
  let n = 0;
  for (const t of a.tensors.values()) n += t.data.length;
  return n;
}

/**
 * The model-graph binding: the structure key, the tensors and the LoRA linear wrapper. `training` adds the
 * config's lora_dropout (the graph then takes the int64 input 'lora_dropout_seed').
 */
export function bindAdapter(a: Adapter, opts: { training?: boolean } = {}): LinearAdapter {
  const dropout = opts.training ? a.config.lora_dropout : 0;
  const key = JSON.stringify([a.sites.map((s) => [s.spec.path, s.r, s.scaling]), dropout]);
  return { key, tensors: a.tensors as ReadonlyMap<string, TensorF32>, wrapLinear: loraLinear(a.sites, { dropout }) };
}

/**
 * Checks tensors (PEFT keys) against the sites the config resolves to on this base: every expected key present,
 * shapes [r, in] / [out, r], nothing unexpected. Lists all problems in one LK_ADAPTER error naming `source`.
 */
export function validateAdapterTensors(
  source: string,
  config: LoraConfig,
  modules: readonly LinearSpec[],
  tensors: ReadonlyMap<string, { dims: readonly number[] }>,
): LoraSite[] {
  // The tensors say which modules are adapted; the config must agree with them.
  let sites: LoraSite[];
  try {
    sites = resolveSites(config, modules);
  } catch (e) {
    throw new LorakitError('LK_ADAPTER', `${source}: ${(e as Error).message}`, { cause: e });
  }
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const s of sites) {
    expected.add(s.keyA).add(s.keyB);
    const a = tensors.get(s.keyA), b = tensors.get(s.keyB);
    if (!a) problems.push(`missing tensor '${s.keyA}' (expected [${s.r}, ${s.spec.inFeatures}])`);
    else if (a.dims.length !== 2 || a.dims[0] !== s.r || a.dims[1] !== s.spec.inFeatures) {
      problems.push(`tensor '${s.keyA}' has shape [${a.dims.join(', ')}], expected [${s.r}, ${s.spec.inFeatures}]`);
    }
    if (!b) problems.push(`missing tensor '${s.keyB}' (expected [${s.spec.outFeatures}, ${s.r}])`);
    else if (b.dims.length !== 2 || b.dims[0] !== s.spec.outFeatures || b.dims[1] !== s.r) {
      problems.push(`tensor '${s.keyB}' has shape [${b.dims.join(', ')}], expected [${s.spec.outFeatures}, ${s.r}]`);
    }
  }
  for (const k of tensors.keys()) {
    if (!expected.has(k)) problems.push(`unexpected tensor '${k}' (no module of this base model matches it under this adapter's config)`);
  }
  if (problems.length) {
    const more = problems.length > 20 ? `\n  … and ${problems.length - 20} more` : '';
    throw new LorakitError('LK_ADAPTER', `${source}: the adapter does not fit this base model:\n  - ${problems.slice(0, 20).join('\n  - ')}${more}`, {
      details: { problems },
    });
  }
  return sites;
}

/** PEFT keeps the adapter name in memory ('lora_A.default.weight'); on disk it is dropped. Accept both. */
export function normalizePeftKey(k: string): string {
  return k.replace(/\.lora_([AB])\.[^.]+\.weight$/, '.lora_$1.weight');
}
