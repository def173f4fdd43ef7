// Streaming output files written atomically: rows go to a temp file beside the target (buffered, written in
// ~1 MiB chunks), and commit() fsyncs and renames it into place, so a crash never leaves a half file under the
// real name. abort() removes the temp file.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { LorakitError } from '../errors.js';
import { tempPathFor } from '../util/atomic.js';

export class AtomicJsonlSink {
  readonly target: string;
  readonly tempPath: string;
  private fd: number;
  private buf: string[] = [];
  private bufLen = 0;
  rows = 0;

  constructor(target: string) {
    this.target = target;
    this.tempPath = tempPathFor(target);
    try {
      this.fd = openSync(this.tempPath, 'w');
    } catch (e) {
      throw new LorakitError('LK_IO', `cannot create '${this.tempPath}': ${(e as Error).message}`, { cause: e, details: { file: target } });
    }
  }

  write(row: unknown): void {
    this.writeLine(JSON.stringify(row));
  }

  writeLine(line: string): void {
    this.buf.push(line, '\n');
    this.bufLen += line.length + 1;
    this.rows++;
    if (this.bufLen >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.bufLen === 0) return;
    const data = Buffer.from(this.buf.join(''), 'utf8');
    this.buf = []; this.bufLen = 0;
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
  }

  /** Flushes, fsyncs and closes; renames into place unless `rename` is false (then the temp file stays for reading). */
  commit(rename = true): void {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    if (rename) renameSync(this.tempPath, this.target);
  }

  abort(): void {
    if (this.fd >= 0) { try { closeSync(this.fd); } catch { /* already closed */ } this.fd = -1; }
    rmSync(this.tempPath, { force: true });
  }
}
