// PEFT adapter folders: adapter_config.json + adapter_model.safetensors (+ lorakit.json with lineage: base and
// dataset fingerprints, training config, metrics). Written to a temp folder and renamed into place, so a reader
// never sees half an adapter; the pickle adapter_model.bin is refused.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LorakitError, isLorakitError } from '../errors.js';
import type { LinearSpec } from '../models/architecture.js';
import type { LorakitAdapterMeta } from '../models/fingerprint.js';
import { openSafetensors, readSafetensorsHeader } from '../models/safetensors.js';
import { writeSafetensors } from '../models/safetensors-write.js';
import { beginOutDir, type OutDirOptions } from '../util/out-dir.js';

export type { LorakitAdapterMeta };
import { type Adapter, normalizePeftKey, validateAdapterTensors } from './adapter.js';
import { type LoraConfig, parseLoraConfig, toPeftJson } from './config.js';
import type { LoraSite } from './targets.js';

export function readAdapterConfigJson(dir: string): Record<string, unknown> {
  const file = join(dir, 'adapter_config.json');
  if (!existsSync(file)) throw new LorakitError('LK_ADAPTER', `'${dir}' is not a PEFT adapter folder: adapter_config.json is missing`);
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new LorakitError('LK_ADAPTER', `'${file}' is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

export function readLorakitMeta(dir: string): LorakitAdapterMeta | undefined {
  const f = join(dir, 'lorakit.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as LorakitAdapterMeta;
  } catch (e) {
    throw new LorakitError('LK_ADAPTER', `'${f}' is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** The weights file of an adapter folder; the pickle adapter_model.bin is refused. */
export function adapterWeightsFile(dir: string): string {
  const weights = join(dir, 'adapter_model.safetensors');
  if (existsSync(weights)) return weights;
  const pickle = existsSync(join(dir, 'adapter_model.bin'));
  const message = pickle
    ? `'${dir}' holds only adapter_model.bin (a pickle, which can run code when loaded); lorakit reads adapter_model.safetensors only`
    : `'${dir}' has no adapter_model.safetensors`;
  throw new LorakitError('LK_ADAPTER', message, {
    hint: pickle ? "convert it with PEFT: model.save_pretrained(dir, safe_serialization=True)" : undefined,
  });
}

/**
 * Config and sites of an adapter folder, checked against the base model's linear modules from the safetensors
 * header alone: every expected tensor present with its shape, nothing unexpected. No tensor data is read.
 * `raw` is adapter_config.json when the caller has already read it.
 */
export function inspectAdapter(dir: string, modules: readonly LinearSpec[], defaultTargets: readonly string[],
  raw: Readonly<Record<string, unknown>> = readAdapterConfigJson(dir)): Pick<Adapter, 'config' | 'sites'> {
  const weights = adapterWeightsFile(dir);
  const config = parseLoraConfig(raw, join(dir, 'adapter_config.json'), defaultTargets);
  const dims = new Map<string, { dims: number[] }>();
  for (const [k, t] of adapterFile(weights, readSafetensorsHeader).tensors) dims.set(normalizePeftKey(k), { dims: [...t.shape] });
  return { config, sites: validateAdapterTensors(weights, config, modules, dims) };
}

/**
 * The tensor data of the sites `inspectAdapter` returned, refused when non-finite. The header is read again for
 * the offsets; a tensor whose shape no longer matches its site means the file changed after the check.
 */
export function readAdapterTensors(dir: string, sites: readonly LoraSite[]): Adapter['tensors'] {
  const weights = adapterWeightsFile(dir);
  const st = adapterFile(weights, openSafetensors);
  const tensors: Adapter['tensors'] = new Map();
  try {
    const byKey = new Map([...st.tensors.keys()].map((k) => [normalizePeftKey(k), k]));
    for (const s of sites) {
      for (const [key, want] of [[s.keyA, [s.r, s.spec.inFeatures]], [s.keyB, [s.spec.outFeatures, s.r]]] as const) {
        const name = byKey.get(key);
        const dims = name === undefined ? undefined : [...st.tensors.get(name)!.shape];
        if (!dims || dims.join() !== want.join()) {
          throw new LorakitError(
            'LK_ADAPTER',
            `${weights}: tensor '${key}' changed after the adapter was checked ` +
              `(now ${dims ? `[${dims.join(', ')}]` : 'missing'}, checked [${want.join(', ')}])`,
          );
        }
        tensors.set(key, { data: adapterFile(weights, () => st.readFloat32(name!)), dims });
      }
    }
  } finally {
    st.close();
  }
  assertFinite(weights, tensors);
  return tensors;
}

/** Reads a PEFT adapter and checks it against the base model's linear modules (no base binding check: see load.ts). */
export function readAdapter(dir: string, modules: readonly LinearSpec[], defaultTargets: readonly string[]): Adapter & { meta?: LorakitAdapterMeta } {
  const { config, sites } = inspectAdapter(dir, modules, defaultTargets);
  return { config, sites, tensors: readAdapterTensors(dir, sites), meta: readLorakitMeta(dir) };
}

/** A truncated or corrupt adapter file is the adapter's fault (LK_ADAPTER, a 400 in the server), not a base model's. */
function adapterFile<T>(weights: string, read: (file: string) => T): T {
  try {
    return read(weights);
  } catch (e) {
    if (!isLorakitError(e, 'LK_SAFETENSORS')) throw e;
    throw new LorakitError('LK_ADAPTER', `adapter file '${weights}' cannot be read: ${e.message}`, { cause: e, details: e.details });
  }
}

/**
 * Refuses NaN / ±Inf in adapter tensors (issue 13: a NaN adapter gave `perplexity NaN` with exit 0 and a NaN
 * merged model). Lists every bad tensor with its first bad index, as the shape check does.
 */
export function assertFinite(source: string, tensors: ReadonlyMap<string, { data: Float32Array; dims: readonly number[] }>): void {
  const bad: { tensor: string; index: number; value: string; count: number }[] = [];
  for (const [name, t] of tensors) {
    const d = t.data;
    let first = -1, count = 0;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) { if (first < 0) first = i; count++; }
    }
    if (first >= 0) bad.push({ tensor: name, index: first, value: String(d[first]), count });
  }
  if (!bad.length) return;
  const lines = bad.map((b) => `tensor '${b.tensor}' has ${b.value} at index ${b.index} (${b.count} non-finite value${b.count > 1 ? 's' : ''})`);
  const more = lines.length > 20 ? `\n  … and ${lines.length - 20} more` : '';
  throw new LorakitError('LK_ADAPTER', `${source}: the adapter holds non-finite weights:\n  - ${lines.slice(0, 20).join('\n  - ')}${more}`, {
    hint: 'the training run that made it diverged; use an earlier checkpoint or retrain with a lower learning rate',
    details: { file: source, nonFinite: bad },
  });
}

/** Writes `adapter` as a PEFT folder at `dir` (temp folder + rename), with lorakit's metadata beside it. `out` is the
 *  --out rule of util/out-dir.ts: the folder may replace only an earlier output of the same verb (or any non-input
 *  folder with overwrite); the default verb 'write adapter' replaces only what writeAdapter itself wrote. */
export function writeAdapter(dir: string, adapter: Pick<Adapter, 'config' | 'tensors'>, meta: LorakitAdapterMeta = {}, card?: string,
  out: OutDirOptions = { verb: 'write adapter' }): void {
  const w = beginOutDir(dir, out);
  try {
    writeFileSync(join(w.tmp, 'adapter_config.json'), JSON.stringify(toPeftJson(adapter.config), null, 2) + '\n');
    const tensors = [...adapter.tensors].sort(([a], [b]) => a.localeCompare(b))
      .map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.dims, data: t.data }));
    writeSafetensors(join(w.tmp, 'adapter_model.safetensors'), tensors, { format: 'pt' });
    const lk = { lorakit_version: '0.1.0', created_at: new Date().toISOString(), ...meta };
    writeFileSync(join(w.tmp, 'lorakit.json'), JSON.stringify(lk, null, 2) + '\n');
    writeFileSync(join(w.tmp, 'README.md'), card ?? defaultCard(adapter.config, meta));
  } catch (e) {
    w.abort();
    throw new LorakitError('LK_IO', `cannot write adapter to '${w.target}': ${(e as Error).message}`, { cause: e });
  }
  w.commit();
}

function defaultCard(c: LoraConfig, meta: LorakitAdapterMeta): string {
  return [
    '---', 'library_name: peft', `base_model: ${c.base_model_name_or_path ?? 'unknown'}`, 'tags: [lora, lorakit]', '---', '',
    `# LoRA adapter`, '',
    `Trained with lorakit. r=${c.r}, lora_alpha=${c.lora_alpha}${c.use_rslora ? ' (rsLoRA)' : ''}, ` +
      `target_modules=${JSON.stringify(c.target_modules)}.`,
    meta.base_fingerprint ? `\nBase model fingerprint: \`${meta.base_fingerprint}\`` : '',
    meta.metrics ? `\nFinal metrics: ${Object.entries(meta.metrics).map(([k, v]) => `${k}=${Number(v).toPrecision(4)}`).join(', ')}` : '',
    '', 'Load with PEFT: `PeftModel.from_pretrained(base, path)`; serve with vLLM `--enable-lora --lora-modules name=path`, or `lorakit serve`.', '',
  ].join('\n');
}
