// Packed weights spilled to files, so that no JS copy of them exists: ORT maps each file when it builds a session,
// prepacks it into its own layout and drops the mapping. Kept in memory instead, every session's prepacked copy
// would sit beside the JS copy (measured on a Llama-3.2-1B shape: README "Model sizes and memory").
// One folder per process under the OS temp dir (LORAKIT_PACKED_DIR overrides it; it should be on disk, not tmpfs,
// or the files take RAM again), removed at exit; folders left by killed processes are swept on the next start.
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExternalFile } from '../../engine/index.js';
import { LorakitError } from '../../errors.js';
import { type QuantizedLayout, type QuantizedSink, type QuantizedTensor, checkPart } from './quantize.js';

export interface QuantizedFiles {
  readonly packed: ExternalFile;
  readonly scales: ExternalFile;
  readonly zeroPoints: ExternalFile | null;
}

/** A quantized tensor whose bytes live in files; reading `packed`/`scales`/`zeroPoints` loads them (slow paths only). */
export interface SpilledTensor extends QuantizedTensor { readonly files: QuantizedFiles }

export const isSpilled = (t: QuantizedTensor): t is SpilledTensor => 'files' in t;

const PREFIX = 'lorakit-packed-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes folders of processes that no longer run (a SIGKILL skips the exit hook). */
function sweepStale(root: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.slice(PREFIX.length).split('-')[0]);
    if (n.startsWith(PREFIX) && Number.isInteger(pid) && pid !== process.pid && !alive(pid)) rmSync(join(root, n), { recursive: true, force: true });
  }
}

// Every folder this process made; one exit hook removes them all (a hook per load would trip Node's listener limit).
const live = new Set<string>();
const removeAll = (): void => {
  for (const f of live) rmSync(f, { recursive: true, force: true });
};

export class PackedStore {
  private count = 0;
  /** File descriptors of tensors still being written. */
  private readonly open = new Set<number>();
  private constructor(readonly folder: string) {}

  /** A fresh folder for this process, removed when it exits. */
  static temp(): PackedStore {
    const root = process.env.LORAKIT_PACKED_DIR || tmpdir();
    mkdirSync(root, { recursive: true });
    sweepStale(root);
    const folder = mkdtempSync(join(root, `${PREFIX}${process.pid}-`));
    if (live.size === 0) process.once('exit', removeAll);
    live.add(folder);
    return new PackedStore(folder);
  }

  /** Removes the folder now (a load that failed); sessions built from it must be gone. */
  discard(): void {
    for (const fd of this.open) closeSync(fd); // a tensor that was being written when the load failed
    this.open.clear();
    live.delete(this.folder);
    rmSync(this.folder, { recursive: true, force: true });
  }

  private read(f: ExternalFile): Uint8Array {
    return readFileSync(join(f.folder, f.location));
  }

  /** A file that the next writes append to; its ExternalFile once closed. */
  private appender(): { write(b: Uint8Array): void; close(): ExternalFile } {
    const location = `t${this.count++}.bin`;
    const fd = openSync(join(this.folder, location), 'w');
    this.open.add(fd);
    let byteLength = 0;
    return {
      write: (b) => {
        for (let off = 0; off < b.byteLength;) off += writeSync(fd, b, off, b.byteLength - off);
        byteLength += b.byteLength;
      },
      close: () => {
        this.open.delete(fd);
        closeSync(fd);
        return { folder: this.folder, location, byteLength };
      },
    };
  }

  /** A sink whose parts are appended to files as they arrive; finish() returns a tensor that holds only their names. */
  sink(l: QuantizedLayout): QuantizedSink {
    const packed = this.appender(), scales = this.appender(), zeroPoints = l.symmetric ? null : this.appender();
    const bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    let row = 0;
    return {
      append(p) {
        row = checkPart(l, p, row, 'PackedStore.sink');
        packed.write(p.packed);
        scales.write(bytes(p.scales));
        if (zeroPoints && p.zeroPoints) zeroPoints.write(p.zeroPoints);
      },
      finish: () => {
        const files: QuantizedFiles = { packed: packed.close(), scales: scales.close(), zeroPoints: zeroPoints?.close() ?? null };
        if (row !== l.n) throw new LorakitError('LK_INTERNAL', `PackedStore.sink: ${row} of ${l.n} rows arrived`);
        return this.spilled(l, files);
      },
    };
  }

  /** Writes `t`'s arrays to files and returns a tensor that holds only their names. */
  spill(t: QuantizedTensor): SpilledTensor {
    const sink = this.sink({ ...t, symmetric: t.zeroPoints === null });
    sink.append(t);
    return sink.finish() as SpilledTensor;
  }

  private spilled(l: QuantizedLayout, files: QuantizedFiles): SpilledTensor {
    const read = (f: ExternalFile): Uint8Array => this.read(f);
    return {
      n: l.n, k: l.k, bits: l.bits, blockSize: l.blockSize, files,
      get packed() {
        return read(files.packed);
      },
      get scales() {
        const b = read(files.scales);
        return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      },
      get zeroPoints() {
        return files.zeroPoints ? read(files.zeroPoints) : null;
      },
    };
  }
}
