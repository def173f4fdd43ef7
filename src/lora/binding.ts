// Is this adapter meant for this base? (issue 13: adapters stay bound to their base.) One check, used by the
// adapter loader (every verb) and by the server before it reads weights. In order of strength:
//   fingerprint       lorakit.json records base_fingerprint (written by train, verified import, registry export):
//                     it must equal this base's fingerprint, else LK_BASE_MISMATCH.
//   name              a PEFT adapter made elsewhere: adapter_config.json `base_model_name_or_path` matches a name
//                     the base is known by (its folder name, config.json `_name_or_path`, the registry's base name,
//                     the server's --served-model-name). Compared by the last path segment, case-insensitively,
//                     so 'meta-llama/Llama-3.2-1B' matches a folder 'models/llama-3.2-1b'.
//   unverified        the adapter names no base: nothing can be checked; callers say "base unverified".
//   mismatch-allowed  the names differ (refused with LK_BASE_MISMATCH) and the user passed --allow-base-mismatch,
//                     or an earlier `adapter import --allow-base-mismatch` recorded that override for this base.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import type { LorakitAdapterMeta } from '../models/fingerprint.js';

export type BaseCheckStatus = 'fingerprint' | 'name' | 'unverified' | 'mismatch-allowed';

export interface BaseCheck {
  readonly status: BaseCheckStatus;
  /** True for 'fingerprint' and 'name'. */
  readonly verified: boolean;
  /** adapter_config.json `base_model_name_or_path` (null when absent). */
  readonly adapterBase: string | null;
  /** Names the base is known by, each with where it comes from ('folder', 'config _name_or_path', ...). */
  readonly baseNames: readonly string[];
  /** The fingerprint of the base checked against, when it was computed. */
  readonly baseFingerprint?: string;
  /** One line for humans: "base verified by fingerprint", "base unverified: ...". */
  readonly message: string;
}

export interface BaseCheckOptions {
  /** Accept an adapter made for another base (recorded as 'mismatch-allowed'). `allowOtherBase` is the old name. */
  readonly allowBaseMismatch?: boolean;
  readonly allowOtherBase?: boolean;
  /** More names the base is known by (the registry's base name, the served model name). */
  readonly baseNames?: readonly string[];
}

/** How import and other writers record the outcome in lorakit.json (a fingerprint is written only when verified). */
export interface BaseBindingRecord {
  readonly status: BaseCheckStatus;
  readonly adapter_base_model: string | null;
  readonly checked_at: string;
  readonly detail: string;
}

/** The names a base folder is known by: folder name (a Hugging Face cache snapshot counts as its repo) and `_name_or_path`. */
export function baseNamesOf(baseDir: string, extra: readonly string[] = []): string[] {
  const abs = resolve(baseDir);
  const names = [abs];
  // ~/.cache/huggingface/hub/models--org--name/snapshots/<sha>: the repo is two levels up.
  const m = /^models--(.+)$/.exec(basename(dirname(dirname(abs))));
  if (basename(dirname(abs)) === 'snapshots' && m) names.push(m[1].replace(/--/g, '/'));
  const cfg = join(abs, 'config.json');
  if (existsSync(cfg)) {
    try {
      const v = (JSON.parse(readFileSync(cfg, 'utf8')) as Record<string, unknown>)._name_or_path;
      if (typeof v === 'string' && v.trim()) names.push(v.trim());
    } catch { /* an unreadable config is the checkpoint loader's error to report */ }
  }
  for (const e of extra) if (e.trim()) names.push(e.trim());
  return [...new Set(names)];
}

/** 'meta-llama/Llama-3.2-1B/' → 'llama-3.2-1b'. */
export function modelKey(name: string): string {
  const parts = name.trim().replace(/[\\/]+$/, '').split(/[\\/]/);
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

/**
 * Checks `adapterDir` (its parsed adapter_config.json and lorakit.json) against the base in `baseDir`.
 * `fingerprint` computes the base's fingerprint (only called when lorakit.json asks for it).
 */
export async function checkBaseBinding(
  baseDir: string, adapterDir: string, adapterConfig: Readonly<Record<string, unknown>>, meta: LorakitAdapterMeta | undefined,
  fingerprint: () => Promise<string>, opts: BaseCheckOptions = {},
): Promise<BaseCheck> {
  const allow = Boolean(opts.allowBaseMismatch || opts.allowOtherBase);
  const raw = adapterConfig.base_model_name_or_path;
  const adapterBase = typeof raw === 'string' && raw.trim() ? raw.trim() : null;
  const baseNames = baseNamesOf(baseDir, opts.baseNames);
  const known = { adapterBase, baseNames };
  const recorded = meta?.base_fingerprint;
  if (recorded) {
    const fp = await fingerprint();
    if (fp === recorded) {
      const message = `base verified: fingerprint ${fp.slice(0, 12)} matches lorakit.json`;
      return { status: 'fingerprint', verified: true, ...known, baseFingerprint: fp, message };
    }
    if (!allow) {
      const was = `${recorded.slice(0, 12)} (${meta?.base_model ?? 'unknown path'})`;
      throw new LorakitError('LK_BASE_MISMATCH', `adapter '${adapterDir}' was trained on base ${was}, not on '${baseDir}' (${fp.slice(0, 12)})`, {
        hint: 'use the base model the adapter was trained on; an adapter on another base gives silently wrong outputs',
        details: { adapter: adapterDir, expectedBase: recorded, actualBase: fp },
      });
    }
    return mismatchAllowed(known, fp, `lorakit.json records base ${recorded.slice(0, 12)}, this base is ${fp.slice(0, 12)}`);
  }
  const override = meta?.base_override;
  if (override?.fingerprint) {
    const fp = await fingerprint();
    const when = override.allowed_at ?? 'date unknown';
    if (fp === override.fingerprint) return mismatchAllowed(known, fp, `accepted for this base by --allow-base-mismatch (${when})`);
  }
  if (adapterBase === null) {
    const message = 'base unverified: no base fingerprint in lorakit.json and no base_model_name_or_path in adapter_config.json';
    return { status: 'unverified', verified: false, ...known, message };
  }
  const want = modelKey(adapterBase);
  const hit = baseNames.find((n) => modelKey(n) === want);
  if (hit) {
    return { status: 'name', verified: true, ...known, message: `base verified by name: base_model_name_or_path '${adapterBase}' matches '${hit}'` };
  }
  const names = baseNames.map((n) => `'${n}'`).join(', ');
  if (!allow) {
    throw new LorakitError('LK_BASE_MISMATCH',
      `adapter '${adapterDir}' was made for base '${adapterBase}' (adapter_config.json base_model_name_or_path), `
      + `but the base '${baseDir}' is known as ${names}`, {
        hint: 'use the base the adapter was made for; if it is the same model under another name, pass --allow-base-mismatch '
          + '(serve: `lorakit adapter import --allow-base-mismatch --out DIR` first; the override is recorded there)',
        details: { adapter: adapterDir, adapterBase, baseNames },
      });
  }
  return mismatchAllowed(known, undefined, `base_model_name_or_path '${adapterBase}' matches none of ${names}`);
}

function mismatchAllowed(known: Pick<BaseCheck, 'adapterBase' | 'baseNames'>, fp: string | undefined, why: string): BaseCheck {
  const message = `base mismatch allowed (--allow-base-mismatch): ${why}`;
  return { status: 'mismatch-allowed', verified: false, ...known, ...(fp ? { baseFingerprint: fp } : {}), message };
}

export function bindingRecord(c: BaseCheck): BaseBindingRecord {
  return { status: c.status, adapter_base_model: c.adapterBase, checked_at: new Date().toISOString(), detail: c.message };
}
