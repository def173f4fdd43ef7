// Adapter arguments: a PEFT folder or a registry reference ('support', 'support@v3', 'support@production'). One
// resolution for every verb that takes an adapter (merge, score, generate, adapter import, eval): a folder wins;
// otherwise the reference is resolved, refused when it belongs to another base, and exported to a temp folder
// (with its base binding in lorakit.json) that `cleanup` removes. Also prints the base check (issue 13).
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LorakitError, isLorakitError } from '../errors.js';
import type { BaseCheck } from '../lora/binding.js';
import type { Registry } from '../registry/index.js';
import { parseRef } from '../registry/refs.js';
import type { CommandIO } from './command.js';

export interface AdapterArg {
  /** The PEFT folder to load. */
  readonly dir: string;
  /** The resolved registry version ('support@v3'), or null for a folder. */
  readonly ref: string | null;
  cleanup(): void;
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

/** Flag parser: an existing folder, or a well-formed registry reference (resolved later, in run()). */
export function adapterDirOrRef(raw: string, flag: string): string {
  if (isDir(raw)) return raw;
  try {
    parseRef(raw);
  } catch {
    throw new LorakitError('LK_ARG', `'${flag}': no such folder '${raw}', and it is not a registry reference (name, name@v3, name@alias)`);
  }
  return raw;
}

export interface OpenAdapterOptions {
  /** The registry to use (kept open for the caller); default: open $LORAKIT_HOME's and close it when done. */
  readonly registry?: () => Promise<Registry>;
  readonly io?: CommandIO;
}

/** Resolves `arg` for the base in `baseDir` (see the file header). */
export async function openAdapterArg(arg: string, baseDir: string, opts: OpenAdapterOptions = {}): Promise<AdapterArg> {
  if (isDir(arg)) return { dir: arg, ref: null, cleanup: () => undefined };
  adapterDirOrRef(arg, 'adapter');
  const own = opts.registry === undefined;
  const reg = own ? (await import('../registry/index.js')).Registry.open() : await opts.registry!();
  let exportDir: string | undefined;
  try {
    const v = await reg.resolve(arg).catch((e: unknown) => {
      if (!isLorakitError(e, 'LK_NOT_FOUND')) throw e;
      throw new LorakitError('LK_NOT_FOUND', `'${arg}' is not a folder, and the registry has no such adapter: ${e.message}`,
        { hint: e.hint, details: e.details });
    });
    // LK_BASE_MISMATCH before anything is exported. No precision here: the export writes the version's
    // base_quantization into lorakit.json, and the verb warns from it like for any folder (once, not twice).
    await reg.assertCompatible(v.ref, baseDir);
    exportDir = mkdtempSync(join(tmpdir(), 'lorakit-adapter-'));
    const dir = (await reg.export(v.ref, join(exportDir, 'adapter'))).dir;
    opts.io?.log(`adapter ${v.ref} (${arg}) exported from the registry`);
    const tmp = exportDir;
    return { dir, ref: v.ref, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
  } catch (e) {
    if (exportDir) rmSync(exportDir, { recursive: true, force: true });
    throw e;
  } finally {
    if (own) await reg.close();
  }
}

/** The base check for --json output. */
export function baseCheckJson(c: BaseCheck): Record<string, unknown> {
  return { status: c.status, verified: c.verified, adapter_base_model: c.adapterBase, base_names: c.baseNames, message: c.message };
}

/** "warning: base unverified: ..." on stderr (also in --json mode) when the adapter's base was not verified. */
export function warnBaseCheck(io: CommandIO, c: BaseCheck, adapter: string, precision?: string | null): void {
  if (!c.verified) io.stderr.write(`warning: adapter '${adapter}': ${c.message}\n`);
  if (precision) {
    io.stderr.write(`warning: adapter '${adapter}': ${precision}; 'lorakit eval --adapter … --quantize …' measures the drift (parity)\n`);
  }
}
