// Shared fixtures for the serve tests: a tiny base and a few adapters with non-zero B (so they change outputs).
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeTinyModel, type TinyModelOptions } from '../helpers/tiny-model.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { linearModules, defaultLoraTargets } from '../../src/models/modules.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { writeAdapter, type LorakitAdapterMeta } from '../../src/lora/peft-io.js';

export function tmp(prefix: string): string { return mkdtempSync(join(tmpdir(), prefix)); }

/** A base folder plus adapters of the given specs (rank, targets), written as PEFT folders. */
export async function makeFixture(
  root: string,
  specs: readonly {
    name: string;
    r: number;
    alpha?: number;
    targets?: string[] | string;
    seed: number;
    meta?: LorakitAdapterMeta;
  }[],
  model: TinyModelOptions = {},
): Promise<{ base: string; adapters: Record<string, string> }> {
  const base = writeTinyModel(join(root, 'base'), { seed: 5, ...model });
  const ck = await loadCheckpoint(base, { tokenizer: false });
  const adapters: Record<string, string> = {};
  for (const s of specs) {
    const cfg = parseLoraConfig(
      { r: s.r, lora_alpha: s.alpha ?? 2 * s.r, target_modules: s.targets ?? ['q_proj', 'v_proj'] },
      'test',
      defaultLoraTargets(ck.config),
    );
    const sites = resolveSites(cfg, linearModules(ck.config));
    const dir = join(root, s.name);
    writeAdapter(dir, { config: cfg, tensors: initLoraTensors(sites, false, s.seed) }, s.meta ?? {});
    adapters[s.name] = dir;
  }
  return { base, adapters };
}
