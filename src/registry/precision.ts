// The precision an adapter version was trained at: the base's quantization label ('none' for float, or e.g.
// 'int4-b32-sym-acc8'; models/quant/scheme.ts). Part of the base identity (issue 12): the base fingerprint names the
// weights on disk, this names what the kernels multiplied by. Read from lorakit.json at registration, stored with the
// version, written back on export, compared (as a warning) where a caller knows the precision it runs at.
import { join } from 'node:path';
import { LorakitError } from '../errors.js';
import { parseQuantLabel, precisionMismatch, quantLabel, resolveQuantScheme } from '../models/quant/scheme.js';
import type { Migration } from '../db/sql.js';
import type { AdapterVersion } from './types.js';

/** Registry step 2, the same SQL on SQLite and PostgreSQL. Rows from before it predate quantized bases: 'none' (float). */
export const BASE_QUANTIZATION_MIGRATION: Migration = {
  version: 2, name: 'versions.base_quantization',
  sql: "ALTER TABLE versions ADD COLUMN base_quantization TEXT NOT NULL DEFAULT 'none';",
};

/** `base_quantization` of an adapter folder's lorakit.json: absent is 'none' (float; written before quantized bases
 *  existed); a label this lorakit cannot read, or one not in its canonical spelling, is refused (LK_ADAPTER). */
export function readBaseQuantization(dir: string, raw: unknown): string {
  if (raw === undefined) return 'none';
  const file = join(dir, 'lorakit.json');
  let label: string | undefined;
  if (typeof raw === 'string') {
    try {
      // canonical: labels are compared as strings (precisionMismatch), so 'int4-b032-…' must not pass as 'int4-b32-…'
      const opts = parseQuantLabel(raw);
      label = opts && quantLabel(resolveQuantScheme(opts)) === raw ? raw : undefined;
    } catch { label = undefined; } // resolveQuantScheme: a block size no scheme has (LK_QUANT)
  }
  if (label === undefined) {
    throw new LorakitError('LK_ADAPTER',
      `${file}: 'base_quantization' must be 'none' or a quantization label such as 'int4-b32-sym-acc8', got ${JSON.stringify(raw)}`,
      { hint: 'written by a newer lorakit, or edited by hand: fix the field or remove it (absent means a float base)',
        details: { file, field: 'base_quantization' } });
  }
  return label;
}

/**
 * Identical adapter files registered again under the same name and base, but claiming another training precision.
 * The files are the fingerprint, so it is the same version; and one set of weights cannot come from two training
 * precisions, so one of the two claims is wrong (a hand-edited lorakit.json, or a version registered before the
 * registry stored precisions and read back as 'none'). Neither silently returning the old version nor quietly
 * adding a second one would say so: refused, and `--allow-duplicate` records it as a new version when intended.
 */
export function precisionConflict(existing: AdapterVersion, claimed: string): LorakitError {
  return new LorakitError('LK_CONFLICT',
    `these adapter files are already registered as ${existing.ref}, trained on base precision '${existing.baseQuantization}', ` +
      `but lorakit.json now says '${claimed}'`,
    { hint: 'fix base_quantization in lorakit.json, or pass --allow-duplicate to register them as a new version',
      details: { ref: existing.ref, registered: existing.baseQuantization, claimed } });
}

/** precisionMismatch's sentence for a version against the precision a caller runs at (null: agree, or unknown). */
export function versionPrecisionMismatch(v: AdapterVersion, runningOn: string | undefined): string | null {
  return runningOn === undefined ? null : precisionMismatch(v.baseQuantization, runningOn);
}
