// The one rule for every folder a verb writes with `--out` (train, merge, adapter import, registry export,
// data curate): never delete what the user owns (issue 13).
//   - nothing there, or an empty folder: write it;
//   - a folder holding OUT_MARKER from an earlier run of the SAME verb: replace it (lorakit made it);
//   - any other non-empty folder: refused unless --overwrite; a file (or a symlink) at --out: always refused;
//   - --out equal to, containing or inside an input of the same command: always refused, --overwrite or not.
// Paths are compared as resolved real paths (symlinks followed). The folder is filled as a sibling temp folder
// and renamed into place, so a reader never sees half of it and a failed run leaves the old one untouched.
// Not here: what goes in the folder (each verb writes its own files into `tmp`).
import { type Stats, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { LorakitError } from '../errors.js';

/** Written into every folder a verb creates; its `verb` says which verb may replace the folder later. */
export const OUT_MARKER = '.lorakit-out.json';

export interface OutInput {
  /** The flag the input came from, e.g. '--model', for the message. */
  readonly flag: string;
  readonly path: string;
  /** true when --out may lie inside this input (curate's out folder inside its input folder); equal/containing stay refused. */
  readonly outMayBeInside?: boolean;
}

export interface OutDirOptions {
  /** The verb writing the folder, as typed on the command line ('train', 'merge', 'adapter import', ...). */
  readonly verb: string;
  /** The flag that named the folder (default '--out'). */
  readonly flag?: string;
  /** Replace a non-empty folder the verb did not create (never an input, never a file). */
  readonly overwrite?: boolean;
  readonly inputs?: readonly OutInput[];
}

export interface OutDirWriter {
  /** The resolved target folder. */
  readonly target: string;
  /** The sibling temp folder to fill; commit() renames it to `target`. */
  readonly tmp: string;
  commit(): void;
  abort(): void;
}

/** The real path of `p`, following symlinks of its nearest existing ancestor (`p` itself need not exist). */
export function realPathOf(p: string): string {
  let cur = resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(cur), ...rest.reverse());
    } catch { /* not there yet: try the parent */ }
    const parent = dirname(cur);
    if (parent === cur) return resolve(p);
    rest.push(basename(cur));
    cur = parent;
  }
}

/** True when `child` is `parent` or lies inside it. */
function within(child: string, parent: string): boolean {
  const r = relative(parent, child);
  return r === '' || (r !== '..' && !r.startsWith('..' + sep) && !isAbsolute(r));
}

/** The verb recorded in a folder's marker, or null (no marker, or not lorakit's). */
export function outMarkerVerb(dir: string): string | null {
  try {
    const v = JSON.parse(readFileSync(join(dir, OUT_MARKER), 'utf8')) as { verb?: unknown };
    return typeof v.verb === 'string' ? v.verb : null;
  } catch {
    return null;
  }
}

/** Throws LK_OUT_IS_INPUT when `out` is, contains or (unless allowed) lies inside one of `o.inputs`. */
export function checkNotInput(out: string, o: OutDirOptions): void {
  const flag = o.flag ?? '--out';
  const target = resolve(out);
  const real = realPathOf(out);
  for (const input of o.inputs ?? []) {
    const inReal = realPathOf(input.path);
    const relation = real === inReal ? 'is' : within(inReal, real) ? 'contains' : !input.outMayBeInside && within(real, inReal) ? 'is inside' : null;
    if (relation) {
      const msg = `${o.verb}: ${flag} '${out}' ${relation} ${input.flag} '${input.path}'; writing it would destroy an input`;
      throw new LorakitError('LK_OUT_IS_INPUT', msg, {
        hint: `choose a ${flag} folder outside the command's inputs (--overwrite never allows this)`,
        details: { out: target, input: input.path, flag: input.flag, relation },
      });
    }
  }
}

/**
 * The part both checks share: refuses an input (LK_OUT_IS_INPUT), then looks at what is at `out` (null: nothing, not
 * even a dangling link) and gives the LK_OUT_EXISTS refusal that names the verb and flag.
 */
function existingOut(out: string, o: OutDirOptions): { flag: string; target: string; st: Stats | null; refuse(what: string, hint: string): never } {
  const flag = o.flag ?? '--out';
  const target = resolve(out);
  checkNotInput(out, o);
  const st = existsSync(target) || isDanglingLink(target) ? lstatSync(target) : null;
  const refuse = (what: string, hint: string): never => {
    throw new LorakitError('LK_OUT_EXISTS', `${o.verb}: ${flag} '${out}' ${what}; nothing was written`, { hint, details: { out: target } });
  };
  return { flag, target, st, refuse };
}

/** Checks that `out` may be written by the verb; throws LK_OUT_IS_INPUT or LK_OUT_EXISTS. Returns the resolved path. */
export function checkOutDir(out: string, o: OutDirOptions): string {
  const { flag, target, st, refuse } = existingOut(out, o);
  if (!st) return target;
  if (st.isSymbolicLink()) refuse('is a symbolic link; expected a folder lorakit can create', `give the real folder path, or choose a new ${flag}`);
  if (!st.isDirectory()) refuse('is a file; expected a folder (or nothing)', `choose another ${flag} folder; lorakit never replaces a file there`);
  let entries: string[];
  try {
    entries = readdirSync(target);
  } catch (e) {
    throw new LorakitError('LK_IO', `${o.verb}: cannot read ${flag} '${out}': ${(e as Error).message}`, { cause: e, details: { out: target } });
  }
  if (entries.length === 0) return target;
  const made = outMarkerVerb(target);
  if (made === o.verb || o.overwrite) return target;
  refuse(
    made ? `holds the output of 'lorakit ${made}', not of '${o.verb}'` : 'exists, is not empty and was not written by lorakit',
    `choose another ${flag} folder, or pass --overwrite to replace it`,
  );
  return target;
}

/**
 * Checks that an output FILE may be written: an existing file is replaced only with `overwrite` (a single file carries
 * no marker saying which verb wrote it); a folder or a symbolic link there is always refused. Returns the resolved path.
 */
export function checkOutFile(out: string, o: OutDirOptions): string {
  const { flag, target, st, refuse } = existingOut(out, o);
  if (!st) return target;
  if (st.isSymbolicLink()) refuse('is a symbolic link', `give the real path, or choose a new ${flag}`);
  if (!st.isFile()) refuse('is not a file', `choose a file path for ${flag}`);
  if (!o.overwrite) refuse('exists', `choose another ${flag} file, or pass --overwrite to replace it`);
  return target;
}

function isDanglingLink(p: string): boolean {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}

let counter = 0;

/** Checks `out` (see checkOutDir) and creates a sibling temp folder to fill; commit() re-checks, then renames it into place. */
export function beginOutDir(out: string, o: OutDirOptions): OutDirWriter {
  const target = checkOutDir(out, o);
  const tag = `${process.pid}-${Date.now()}-${counter++}`;
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${tag}`);
  try {
    mkdirSync(tmp, { recursive: true });
  } catch (e) {
    throw new LorakitError('LK_IO', `${o.verb}: cannot create '${tmp}': ${(e as Error).message}`, { cause: e, details: { out: target } });
  }
  const abort = (): void => rmSync(tmp, { recursive: true, force: true });
  return {
    target, tmp, abort,
    commit() {
      try {
        checkOutDir(out, o); // the folder may have appeared while the verb ran
        writeFileSync(join(tmp, OUT_MARKER), JSON.stringify({ verb: o.verb, createdAt: new Date().toISOString() }) + '\n');
        const old = join(dirname(target), `.${basename(target)}.old-${tag}`);
        const had = existsSync(target);
        if (had) renameSync(target, old);
        try {
          renameSync(tmp, target);
        } catch (e) {
          if (had) renameSync(old, target);
          throw e;
        }
        if (had) rmSync(old, { recursive: true, force: true });
      } catch (e) {
        abort();
        if (e instanceof LorakitError) throw e;
        throw new LorakitError('LK_IO', `${o.verb}: cannot write '${target}': ${(e as Error).message}`, { cause: e, details: { out: target } });
      }
    },
  };
}

/** Runs `fill(tmp)` in a temp folder and renames it to `out` (see beginOutDir); on any failure the temp folder goes. */
export async function writeOutDir<T>(out: string, o: OutDirOptions, fill: (tmp: string, target: string) => T | Promise<T>): Promise<T> {
  const w = beginOutDir(out, o);
  let r: T;
  try {
    r = await fill(w.tmp, w.target);
  } catch (e) {
    w.abort();
    throw e;
  }
  w.commit();
  return r;
}
