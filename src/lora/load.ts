// Loading an adapter for a given base, in two steps: one check that reads only JSON and the safetensors header
// (files present, base binding, config, sites, tensor names and shapes), then the tensor data. Every verb and
// the server use this check; the server checks at registration and reads the tensors on first use.
// The base binding (src/lora/binding.ts: recorded fingerprint, else base_model_name_or_path against the names
// the base is known by) comes first, so a foreign adapter is refused with LK_BASE_MISMATCH before anything else.
import type { Checkpoint } from '../models/checkpoint.js';
import { fingerprintModelDir } from '../models/fingerprint.js';
import { defaultLoraTargets, linearModules } from '../models/modules.js';
import { type Adapter, bindAdapter } from './adapter.js';
import { type BaseCheck, type BaseCheckOptions, checkBaseBinding } from './binding.js';
import type { LinearAdapter } from '../models/causal-lm.js';
import {
  type LorakitAdapterMeta, inspectAdapter, readAdapterConfigJson, readAdapterTensors, readLorakitMeta,
} from './peft-io.js';

/** What the check established about an adapter folder, without reading its tensor data. */
export interface AdapterCheck extends Pick<Adapter, 'config' | 'sites'> {
  readonly dir: string;
  /** The largest rank over the sites (rank_pattern included). */
  readonly rank: number;
  readonly meta?: LorakitAdapterMeta;
  /** How the adapter was matched to this base (see src/lora/binding.ts). */
  readonly baseCheck: BaseCheck;
}

export interface CheckAdapterOptions extends BaseCheckOptions {
  /** The base's fingerprint, when the caller has it cached (default: hashed from the base folder when needed). */
  readonly fingerprint?: () => Promise<string>;
}

/** Throws LK_ADAPTER (files, tensors), LK_LORA_CONFIG (config fields) or LK_BASE_MISMATCH. */
export async function checkAdapterFor(base: Checkpoint, dir: string, opts: CheckAdapterOptions = {}): Promise<AdapterCheck> {
  const raw = readAdapterConfigJson(dir);
  const meta = readLorakitMeta(dir);
  const fingerprint = opts.fingerprint ?? (async () => (await fingerprintModelDir(base.dir)).fingerprint);
  const baseCheck = await checkBaseBinding(base.dir, dir, raw, meta, fingerprint, opts);
  const { config, sites } = inspectAdapter(dir, linearModules(base.config), defaultLoraTargets(base.config), raw);
  return { dir, config, sites, rank: Math.max(...sites.map((s) => s.r)), meta, baseCheck };
}

export interface LoadedAdapter extends Adapter {
  readonly dir: string;
  readonly binding: LinearAdapter;
  readonly baseFingerprint?: string;
  readonly meta?: LorakitAdapterMeta;
  /** How the adapter was matched to this base (see src/lora/binding.ts). */
  readonly baseCheck: BaseCheck;
}

export async function loadAdapterFor(base: Checkpoint, dir: string, opts: CheckAdapterOptions = {}): Promise<LoadedAdapter> {
  const c = await checkAdapterFor(base, dir, opts);
  const a: Adapter = { config: c.config, sites: c.sites, tensors: readAdapterTensors(dir, c.sites) };
  return { ...a, dir, binding: bindAdapter(a), baseFingerprint: c.meta?.base_fingerprint, meta: c.meta, baseCheck: c.baseCheck };
}
