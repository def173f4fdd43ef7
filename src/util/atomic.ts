// Atomic file writes: write to a temp file beside the target, fsync, then rename, so a reader or a crash
// never sees a half-written file.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { LorakitError } from '../errors.js';

let counter = 0;
/** A unique temp path in the same folder as `target` (same filesystem, so rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}-${counter++}`);
}

/**
 * Writes `data` to `target` atomically. Chunks may come from an iterable (e.g. a generator that encodes one tensor
 * at a time), so no single buffer of the whole file is ever needed. A LorakitError thrown while producing a chunk
 * is passed through unchanged; other failures become LK_IO naming the file.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array | Iterable<Uint8Array>): void {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    const chunks: Iterable<Uint8Array> = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, target);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    if (e instanceof LorakitError) throw e;
    throw new LorakitError('LK_IO', `cannot write '${target}': ${(e as Error).message}`, { cause: e, details: { file: target } });
  }
}

export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}
