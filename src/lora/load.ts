// Loading an adapter for a given base: PEFT folder → validated, finite tensors → model binding, after checking
// that the adapter belongs to this base (src/lora/binding.ts: recorded fingerprint, else base_model_name_or_path
// against the names the base is known by; refused with LK_BASE_MISMATCH, or "base unverified").
import type { Checkpoint } from '../models/checkpoint.js';
import { fingerprintModelDir } from '../models/fingerprint.js';
import { defaultLoraTargets, linearModules } from '../models/modules.js';
import { type Adapter, bindAdapter } from './adapter.js';
import { type BaseCheck, type BaseCheckOptions, checkBaseBinding } from './binding.js';
import type { LinearAdapter } from '../models/causal-lm.js';
import { type LorakitAdapterMeta, readAdapter, readAdapterConfigJson, readLorakitMeta } from './peft-io.js';

export interface LoadedAdapter extends Adapter {
  readonly dir: string;
  readonly binding: LinearAdapter;
  readonly baseFingerprint?: string;
  readonly meta?: LorakitAdapterMeta;
  /** How the adapter was matched to this base (see src/lora/binding.ts). */
  readonly baseCheck: BaseCheck;
}

export interface LoadAdapterOptions extends BaseCheckOptions {
  /** A check already made for this folder and base (the server checks at registration, before reading weights). */
  readonly baseCheck?: BaseCheck;
}

export async function loadAdapterFor(base: Checkpoint, dir: string, opts: LoadAdapterOptions = {}): Promise<LoadedAdapter> {
  // The base check first: it reads only JSON, so a foreign adapter is refused before its weights are read.
  const baseCheck = opts.baseCheck ?? await checkBaseBinding(base.dir, dir, readAdapterConfigJson(dir), readLorakitMeta(dir),
    async () => (await fingerprintModelDir(base.dir)).fingerprint, opts);
  const a = readAdapter(dir, linearModules(base.config), defaultLoraTargets(base.config));
  return { ...a, dir, binding: bindAdapter(a), baseFingerprint: a.meta?.base_fingerprint, baseCheck };
}
