// The embedded BlobStore: files under <root>/ab/cdef... named by their sha256 (root: <home>/blobs, or a mount
// that several machines share). A blob is written to <root>/tmp/<pid>-<random>@<host>, hashed while copying,
// fsynced, then renamed into place, so a crash leaves at most a temp file (reported by verify, removed by gc once
// its writer is gone) and never a blob whose name lies about its bytes. I/O is async in 4 MiB chunks, so a server
// that exports or verifies keeps answering requests meanwhile.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { LorakitError } from '../errors.js';
import type { BlobCheck, BlobPut, BlobStore, TempBlob } from './types.js';

const CHUNK = 4 << 20;
// in temp file names: '@' and '/' cannot occur in it
const HOST = hostname().replace(/[@/]/g, '_') || 'localhost';
const SHA_RE = /^[0-9a-f]{64}$/;

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
  } catch { /* not supported on this platform: rename is still atomic */ }
}

/** Streams `src` to `dest` (if given) while hashing; fsyncs `dest`; returns the hex digest and size. */
async function copyHashing(src: string, dest: string | undefined): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  const fin = await open(src, 'r');
  const fout = dest === undefined ? undefined : await open(dest, 'w');
  let bytes = 0;
  try {
    for (;;) {
      const { bytesRead: n } = await fin.read(buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      if (fout) for (let off = 0; off < n;) off += (await fout.write(buf, off, n - off)).bytesWritten;
      bytes += n;
    }
    if (fout) await fout.sync();
  } finally {
    await fin.close();
    if (fout) await fout.close();
  }
  return { sha256: h.digest('hex'), bytes };
}

export class FsBlobStore implements BlobStore {
  readonly root: string;
  private readonly tmp: string;

  constructor(root: string) {
    this.root = root;
    this.tmp = join(root, 'tmp');
    mkdirSync(this.tmp, { recursive: true });
  }

  locate(sha: string): string {
    if (!SHA_RE.test(sha)) throw new LorakitError('LK_INTERNAL', `not a sha256 hex digest: '${sha}'`);
    return join(this.root, sha.slice(0, 2), sha.slice(2));
  }

  async has(sha: string): Promise<boolean> { return existsSync(this.locate(sha)); }

  async putFile(src: string, expected?: string): Promise<BlobPut> {
    if (expected && (await this.has(expected))) {
      const p = this.locate(expected);
      const now = new Date();
      await utimes(p, now, now); // refresh the age so a concurrent gc's grace period protects it
      return { sha256: expected, bytes: (await stat(p)).size, added: false };
    }
    const tmp = join(this.tmp, `${process.pid}-${randomBytes(6).toString('hex')}@${HOST}`);
    try {
      const got = await copyHashing(src, tmp);
      if (expected && got.sha256 !== expected) {
        throw new LorakitError('LK_CONFLICT',
          `'${src}' changed while it was being registered (sha256 ${got.sha256.slice(0, 12)}…, expected ${expected.slice(0, 12)}…)`,
          { hint: 'wait until whatever writes the folder has finished, then register again', details: { file: src } });
      }
      const dest = this.locate(got.sha256);
      mkdirSync(dirname(dest), { recursive: true });
      const added = !existsSync(dest);
      await rename(tmp, dest); // same content either way: replacing an existing blob is harmless
      await fsyncDir(dirname(dest));
      return { ...got, added };
    } catch (e) {
      await rm(tmp, { force: true });
      if (e instanceof LorakitError) throw e;
      throw new LorakitError('LK_IO', `cannot store '${src}' in the blob store ${this.root}: ${(e as Error).message}`, {
        cause: e,
        details: { file: src },
      });
    }
  }

  async copyOut(sha: string, dest: string): Promise<void> {
    const src = this.locate(sha);
    if (!existsSync(src)) {
      throw new LorakitError('LK_CORRUPT', `blob ${sha} is missing from ${this.root}`, {
        hint: "run 'lorakit registry verify'",
        details: { blob: sha, path: src },
      });
    }
    const got = await copyHashing(src, dest);
    if (got.sha256 !== sha) {
      await rm(dest, { force: true });
      throw new LorakitError('LK_CORRUPT', `blob ${src} is corrupt: its bytes hash to ${got.sha256}`, {
        hint: "run 'lorakit registry verify'",
        details: { blob: sha, path: src, actual: got.sha256 },
      });
    }
  }

  async check(sha: string): Promise<BlobCheck> {
    const path = this.locate(sha);
    if (!existsSync(path)) return { sha256: sha, ok: false, missing: true, path };
    const got = await copyHashing(path, undefined);
    return got.sha256 === sha ? { sha256: sha, ok: true, path } : { sha256: sha, ok: false, actual: got.sha256, path };
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const d of await readdir(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      for (const f of await readdir(join(this.root, d))) if (/^[0-9a-f]{62}$/.test(f)) out.push(d + f);
    }
    return out.sort();
  }

  async stat(sha: string): Promise<{ bytes: number; mtimeMs: number } | undefined> {
    try { const st = await stat(this.locate(sha)); return { bytes: st.size, mtimeMs: st.mtimeMs }; } catch { return undefined; }
  }

  async remove(sha: string): Promise<void> { await rm(this.locate(sha), { force: true }); }

  async listTemp(): Promise<TempBlob[]> {
    const out: TempBlob[] = [];
    const now = Date.now();
    for (const f of await readdir(this.tmp)) {
      const path = join(this.tmp, f);
      let st;
      try { st = await stat(path); } catch { continue; } // renamed into place meanwhile
      // <pid>-<random>[@<host>]: a writer on another machine of a shared mount cannot be checked from here
      const m = /^(\d+)-[^@]*(?:@(.+))?$/.exec(f);
      const pid = m ? Number(m[1]) : null;
      const here = !m?.[2] || m[2] === HOST;
      out.push({ path, bytes: st.size, ageMs: Math.max(0, now - st.mtimeMs), pid, writerAlive: pid === null || !here ? null : processAlive(pid) });
    }
    return out.sort((a, b) => b.ageMs - a.ageMs);
  }

  async removeTemp(t: TempBlob): Promise<void> {
    if (dirname(t.path) !== this.tmp) throw new LorakitError('LK_INTERNAL', `'${t.path}' is not a temp file of ${this.root}`);
    await rm(t.path, { force: true });
  }
}

/** Whether a process with this pid exists on this host (EPERM: it exists but belongs to another user). */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}
