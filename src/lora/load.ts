// Loading an adapter for a given base: PEFT folder → validated tensors → model binding, refusing an adapter whose
// recorded base fingerprint differs from this base (the message names both models).
import { LorakitError } from '../errors.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { fingerprintModelDir } from '../models/fingerprint.js';
import { defaultLoraTargets, linearModules } from '../models/modules.js';
import { type Adapter, bindAdapter } from './adapter.js';
import type { LinearAdapter } from '../models/causal-lm.js';
import { type LorakitAdapterMeta, readAdapter } from './peft-io.js';

export interface LoadedAdapter extends Adapter {
  readonly dir: string;
  readonly binding: LinearAdapter;
  readonly baseFingerprint?: string;
  readonly meta?: LorakitAdapterMeta;
}

export async function loadAdapterFor(base: Checkpoint, dir: string, opts: { allowOtherBase?: boolean } = {}): Promise<LoadedAdapter> {
  const a = readAdapter(dir, linearModules(base.config), defaultLoraTargets(base.config));
  const recorded = a.meta?.base_fingerprint;
  if (recorded && !opts.allowOtherBase) {
    const fp = (await fingerprintModelDir(base.dir)).fingerprint;
    if (fp !== recorded) {
      throw new LorakitError('LK_BASE_MISMATCH', `adapter '${dir}' was trained on base ${recorded.slice(0, 12)} (${a.meta?.base_model ?? 'unknown path'}), not on '${base.dir}' (${fp.slice(0, 12)})`, {
        hint: 'use the base model the adapter was trained on; an adapter on another base gives silently wrong outputs',
        details: { adapter: dir, expectedBase: recorded, actualBase: fp },
      });
    }
  }
  return { ...a, dir, binding: bindAdapter(a), baseFingerprint: recorded };
}
