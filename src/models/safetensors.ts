// safetensors reader (https://github.com/huggingface/safetensors#format; the writer is safetensors-write.ts): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then the
// data section, which the tensors must cover in order, without holes or overlaps.
// The reader validates the whole header first and reports every bad tensor in one LK_SAFETENSORS error, then
// reads one tensor at a time at its offset straight into the returned typed array (bf16/f16 are widened in place),
// so a load never holds a file plus a converted copy: readFloat32 synchronously, streamFloat32 as a pipeline that
// reads the next chunk on the thread pool while this one is converted. Both can refuse NaN/Inf (LK_NONFINITE). Single files and sharded checkpoints
// (model.safetensors.index.json) are both handled. Not an mmap reader, and no quantized dtypes.
import { closeSync, existsSync, fstatSync, openSync, read, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LorakitError } from '../errors.js';

/** Every dtype of the safetensors spec, with its size in bytes (validation knows them all; conversion fewer). */
export const dtypeBytes = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
} as const;
export type SafetensorsDtype = keyof typeof dtypeBytes;
/** Dtypes that `readFloat32` converts. */
export const floatDtypes: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** The file holding it (a shard for sharded checkpoints). */
  readonly file: string;
  /** Absolute byte offsets in `file` (data_offsets + 8 + header length). */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly file: string;
  readonly fileBytes: number;
  /** Byte offset where the data section starts (8 + header length). */
  readonly dataStart: number;
  /** In file order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
}

const MAX_HEADER_BYTES = 100_000_000; // the reference implementation's limit

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function fail(file: string, problems: string[], tensors: string[]): never {
  const shown = problems.slice(0, 50).map((p) => `  - ${p}`).join('\n');
  const more = problems.length > 50 ? `\n  … and ${problems.length - 50} more` : '';
  throw new LorakitError('LK_SAFETENSORS',
    `'${file}' is not a valid safetensors file (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${shown}${more}`, {
    details: { file, tensors, problems },
    hint: 'the file is truncated or corrupt: download or convert it again',
  });
}

function readExactly(fd: number, into: Uint8Array, position: number, file: string): void {
  let off = 0;
  while (off < into.byteLength) {
    const chunk = Math.min(into.byteLength - off, 1 << 30);
    const n = readSync(fd, into, off, chunk, position + off);
    if (n === 0) fail(file, [`unexpected end of file at byte ${position + off} (wanted ${into.byteLength} bytes from ${position})`], []);
    off += n;
  }
}

/** Reads and validates the header of one file; every problem is listed in one LK_SAFETENSORS error. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new LorakitError('LK_IO', `cannot open '${file}': ${(e as Error).message}`, { cause: e, details: { file } });
  }
  try {
    return parseHeader(fd, file);
  } finally {
    closeSync(fd);
  }
}

function parseHeader(fd: number, file: string): SafetensorsHeader {
  const fileBytes = fstatSync(fd).size;
  if (fileBytes < 8) fail(file, [`file is ${fileBytes} bytes, shorter than the 8-byte header length`], []);
  const lenBuf = new Uint8Array(8);
  readExactly(fd, lenBuf, 0, file);
  const n = new DataView(lenBuf.buffer).getBigUint64(0, true);
  if (n > BigInt(fileBytes - 8)) fail(file, [`header length ${n} exceeds the ${fileBytes - 8} bytes after the length field`], []);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(file, [`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`], []);
  const headerLen = Number(n);
  const hb = new Uint8Array(headerLen);
  readExactly(fd, hb, 8, file);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(hb));
  } catch (e) {
    fail(file, [`header is not valid UTF-8 JSON: ${(e as Error).message}`], []);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(file, ['header is not a JSON object'], []);
  const dataStart = 8 + headerLen;
  const dataLen = fileBytes - dataStart;
  const problems: string[] = [];
  const bad = new Set<string>();
  const flag = (name: string, msg: string): void => { problems.push(`'${name}': ${msg}`); bad.add(name); };
  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; b: number; e: number }[] = [];
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const ok = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
      if (!ok) problems.push(`'__metadata__' must be an object of string values`);
      else metadata = v as Record<string, string>;
      continue;
    }
    if (v === null || typeof v !== 'object') { flag(name, 'entry is not an object'); continue; }
    const { dtype, shape, data_offsets: offs } = v as Record<string, unknown>;
    const before = problems.length;
    if (typeof dtype !== 'string' || !(dtype in dtypeBytes))
      flag(name, `unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(dtypeBytes).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      flag(name, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0) || offs[0] > offs[1]) {
      flag(name, `data_offsets ${JSON.stringify(offs)} is not [begin, end] with 0 <= begin <= end`);
    }
    if (problems.length > before) continue;
    const [b, e] = offs as [number, number];
    const shp = shape as number[];
    const dt = dtype as SafetensorsDtype;
    const want = numel(shp) * dtypeBytes[dt];
    if (want !== e - b) {
      flag(name, `shape [${shp.join(', ')}] × ${dt} (${dtypeBytes[dt]} B) = ${want} bytes, but data_offsets [${b}, ${e}] span ${e - b}`);
    }
    if (e > dataLen) flag(name, `data_offsets [${b}, ${e}] end beyond the data section (${dataLen} bytes; file truncated?)`);
    entries.push({ name, dtype: dt, shape: shp, b, e });
  }
  // The spec: the data section is entirely indexed, without holes or overlaps.
  const sorted = [...entries].sort((x, y) => x.b - y.b || x.e - y.e);
  let cursor = 0;
  let prev = '';
  for (const t of sorted) {
    if (t.b < cursor) flag(t.name, `bytes [${t.b}, ${t.e}] overlap '${prev}' (which ends at ${cursor})`);
    else if (t.b > cursor) flag(t.name, `hole in the data section: bytes [${cursor}, ${t.b}) before it belong to no tensor`);
    if (t.e >= cursor) { cursor = t.e; prev = t.name; }
  }
  if (cursor < dataLen) problems.push(`the last ${dataLen - cursor} bytes of the data section belong to no tensor`);
  if (problems.length > 0) fail(file, problems, [...bad]);
  const tensors = new Map<string, TensorInfo>();
  for (const t of sorted) tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, file, begin: dataStart + t.b, end: dataStart + t.e });
  return { file, fileBytes, dataStart, tensors, metadata };
}

// ---------------------------------------------------------------------------------------------------------
// Conversions. bf16 is the top half of an f32; f16 goes through a 65536-entry table (256 KiB, built once).

let f16Table: Float32Array | undefined;
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return (f16Table = t);
}

export function bf16BitsToF32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

export function f16BitsToF32(bits: Uint16Array): Float32Array {
  const t = f16ToF32Table();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}

/** f32 → bf16 bits with round-to-nearest-even (as torch's `.to(torch.bfloat16)`); NaN stays a quiet NaN. */
export function f32ToBf16Bits(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < u.length; i++) {
    const v = u[i];
    out[i] = (v & 0x7fffffff) > 0x7f800000 ? (v >>> 16) | 0x40 : ((v + 0x7fff + ((v >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** f32 → f16 bits with round-to-nearest-even; overflow goes to ±Inf, tiny values to (signed) subnormals or zero. */
export function f32ToF16Bits(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < u.length; i++) {
    const v = u[i];
    const sign = (v >>> 16) & 0x8000;
    const exp = (v >>> 23) & 0xff;
    let mant = v & 0x7fffff;
    if (exp === 0xff) { out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); continue; }
    const e = exp - 112; // re-biased exponent (127 → 15)
    if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; }
    let half: number, rem: number, halfway: number;
    if (e <= 0) {
      if (e < -10) { out[i] = sign; continue; }
      mant |= 0x800000;
      const shift = 14 - e;
      half = mant >>> shift; rem = mant & ((1 << shift) - 1); halfway = 1 << (shift - 1);
    } else {
      half = (e << 10) | (mant >>> 13); rem = mant & 0x1fff; halfway = 0x1000;
    }
    if (rem > halfway || (rem === halfway && (half & 1))) half++; // a carry into the exponent is correct (→ Inf)
    out[i] = sign | half;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Reading tensors.

export type RawTensorData = Float32Array | Float64Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array
  | BigUint64Array | Int16Array | Int8Array | Uint8Array;

// Small monomorphic loops (V8 optimises these far better than the same loops inlined in a polymorphic caller).
// Each returns the index of the first non-finite value (NaN or ±Inf: exponent bits all ones), or -1; the test costs
// little next to the loads and stores (measured with the widening: within noise). Values before it are written.
function widenBf16(dst: Uint32Array, src: Uint16Array): number {
  for (let i = 0, n = src.length; i < n; i++) {
    const v = src[i];
    if ((v & 0x7f80) === 0x7f80) return i;
    dst[i] = v << 16;
  }
  return -1;
}
/** Two bf16 values per 32-bit load (about 1.5× the 16-bit loop); `src` is the same bytes seen as pairs. */
function widenBf16Pairs(dst: Uint32Array, src: Uint32Array): number {
  for (let i = 0, j = 0, n = src.length; i < n; i++, j += 2) {
    const x = src[i];
    if ((x & 0x7f80) === 0x7f80) return j;
    if ((x & 0x7f800000) === 0x7f800000) return j + 1;
    dst[j] = x << 16;
    dst[j + 1] = x & 0xffff0000;
  }
  return -1;
}
function widenF16(dst: Float32Array, src: Uint16Array, tab: Float32Array): number {
  for (let i = 0, n = src.length; i < n; i++) {
    const h = src[i];
    if ((h & 0x7c00) === 0x7c00) return i;
    dst[i] = tab[h];
  }
  return -1;
}
function firstNonFiniteF32(bits: Uint32Array): number {
  for (let i = 0, n = bits.length; i < n; i++) if ((bits[i] & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

export interface ReadF32Options {
  /** Refuse NaN and ±Inf with LK_NONFINITE, naming the tensor and the first bad element (default false). */
  readonly requireFinite?: boolean;
}

function nonFinite(t: TensorInfo, index: number, value: number): never {
  const at = t.shape.length > 1 ? ` (element [${unravel(index, t.shape).join(', ')}] of [${t.shape.join(', ')}])` : '';
  throw new LorakitError('LK_NONFINITE', `tensor '${t.name}' in '${t.file}' holds ${value} at flat index ${index}${at}`, {
    details: { file: t.file, tensor: t.name, index, value: String(value), dtype: t.dtype },
    hint: 'the checkpoint is corrupt or was saved after a diverged run: re-download or re-convert it',
  });
}
function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { out[d] = index % shape[d]; index = Math.floor(index / shape[d]); }
  return out;
}

/**
 * Converts elements [off, off + len) of a buffer of `n` elements whose raw bytes were read into it (F32: already in
 * place; BF16/F16: the upper half of `buf`, see readTensorF32). Throws LK_NONFINITE when asked to and a value is not
 * finite, naming its index in the tensor: `base` is the buffer's first element there (a part of the tensor).
 */
function convertRange(t: TensorInfo, buf: ArrayBuffer, n: number, off: number, len: number, requireFinite: boolean, base = 0): void {
  let bad = -1;
  if (t.dtype === 'F32') {
    if (requireFinite) bad = firstNonFiniteF32(new Uint32Array(buf, 4 * off, len));
  } else if (t.dtype === 'BF16') {
    const srcByte = 2 * n + 2 * off;
    const pairs = srcByte % 4 === 0 && len % 2 === 0;
    bad = pairs
      ? widenBf16Pairs(new Uint32Array(buf, 4 * off, len), new Uint32Array(buf, srcByte, len / 2))
      : widenBf16(new Uint32Array(buf, 4 * off, len), new Uint16Array(buf, srcByte, len));
    // A non-finite value stops the widening (the pair loop before either half of its pair); finish it when the caller
    // allows non-finite values. The sources from there on are still unwritten.
    if (bad >= 0 && !requireFinite) {
      const dst = new Uint32Array(buf, 4 * off, len), src = new Uint16Array(buf, srcByte, len);
      for (let i = pairs ? bad & ~1 : bad; i < len; i++) dst[i] = src[i] << 16;
    }
  } else if (t.dtype === 'F16') {
    const tab = f16ToF32Table();
    const dst = new Float32Array(buf, 4 * off, len), src = new Uint16Array(buf, 2 * n + 2 * off, len);
    bad = widenF16(dst, src, tab);
    if (bad >= 0 && !requireFinite) for (let i = bad; i < len; i++) dst[i] = tab[src[i]];
  }
  if (bad >= 0 && requireFinite) {
    const i = off + bad;
    const v = t.dtype === 'F32' ? new Float32Array(buf, 4 * i, 1)[0]
      : t.dtype === 'BF16' ? bf16BitsToF32(new Uint16Array(buf, 2 * n + 2 * i, 1))[0] : f16ToF32Table()[new Uint16Array(buf, 2 * n + 2 * i, 1)[0]];
    nonFinite(t, base + i, v);
  }
}

/**
 * Reads one tensor as f32 (F32, F16, BF16, F64), converting in place in the returned array's own buffer: BF16/F16
 * bytes are read into the upper half of the 4n-byte result and widened forwards (the write to element i ends at byte
 * 4i+3, before the first unread source byte 2n+2(i+1), so nothing is overwritten early).
 */
export function readTensorF32(fd: number, t: TensorInfo, opts: ReadF32Options = {}): Float32Array {
  const n = numel(t.shape);
  const requireFinite = opts.requireFinite ?? false;
  if (t.dtype === 'F32' || t.dtype === 'BF16' || t.dtype === 'F16') {
    const buf = new ArrayBuffer(4 * n);
    const at = t.dtype === 'F32' ? 0 : 2 * n;
    readExactly(fd, new Uint8Array(buf, at, t.end - t.begin), t.begin, t.file);
    convertRange(t, buf, n, 0, n, requireFinite);
    return new Float32Array(buf);
  }
  if (t.dtype === 'F64') {
    const out = Float32Array.from(readTensorRaw(fd, t) as Float64Array);
    const bad = requireFinite ? firstNonFiniteF32(new Uint32Array(out.buffer)) : -1;
    if (bad >= 0) nonFinite(t, bad, out[bad]);
    return out;
  }
  throw new LorakitError('LK_DTYPE', `tensor '${t.name}' in '${t.file}' has dtype ${t.dtype}, which cannot be read as float32`, {
    details: { file: t.file, tensor: t.name, dtype: t.dtype },
  });
}

function readAsync(fd: number, into: Uint8Array, position: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      read(fd, into, off, into.byteLength - off, position + off, (err, n) => {
        if (err) reject(new LorakitError('LK_IO', `cannot read '${file}': ${err.message}`, { cause: err, details: { file } }));
        else if (off + n >= into.byteLength) resolve();
        else if (n === 0) {
          try { fail(file, [`unexpected end of file at byte ${position + off} (wanted ${into.byteLength} bytes from ${position})`], []); }
          catch (e) { reject(e as Error); }
        } else step(off + n);
      });
    };
    if (into.byteLength === 0) resolve(); else step(0);
  });
}

export interface StreamF32Options extends ReadF32Options {
  /** Elements per pipelined read (default STREAM_CHUNK_ELEMENTS; made even). */
  readonly chunkElements?: number;
  /**
   * Yield views into two scratch buffers that take turns (each grown to the largest part it holds), valid only until
   * the next iteration: for a consumer that converts and drops each tensor (a quantizer). Fresh memory's first-touch
   * page faults are most of a float32 load's time; reusing warm memory skips them.
   */
  readonly reuse?: boolean;
  /**
   * Yield a tensor in parts of at most this many elements (the caller picks whole rows), each with its element
   * `offset`: a consumer that quantizes rows then needs no buffer the size of the largest tensor (a 128K-vocabulary
   * embedding of an 8B model is 2.1 GB as float32). Default: whole tensors.
   */
  readonly partElements?: (t: TensorInfo) => number;
}

/** Elements per pipelined read: 4 Mi (8 MiB of bf16 in, 16 MiB of f32 out). */
export const STREAM_CHUNK_ELEMENTS = 4 << 20;

/**
 * Reads tensors as f32 in the given order, yielding each as soon as it is complete. The read of the next chunk runs on
 * libuv's thread pool while this one is converted on the main thread, so copying out of the page cache (and the
 * page faults of fresh memory, most of a load's time) overlap with the conversion on two cores. Holds only the
 * tensor (or part) being filled besides what the consumer keeps: a quantizer can consume one f32 part at a time.
 */
export async function* streamTensorsF32(fdFor: (file: string) => number, infos: readonly TensorInfo[],
  opts: StreamF32Options = {}): AsyncGenerator<{ info: TensorInfo; data: Float32Array; offset: number }> {
  const chunk = Math.max(2, (opts.chunkElements ?? STREAM_CHUNK_ELEMENTS) & ~1); // even, so bf16 pairs stay aligned
  const requireFinite = opts.requireFinite ?? false;
  // One read of `len` elements at `off` within the part of `n` elements that starts at element `base` of t.
  // sync: F64 (or a non-float dtype, for its LK_DTYPE), read by readTensorF32 when its turn comes.
  interface Job { t: TensorInfo; base: number; n: number; buf: ArrayBuffer; off: number; len: number; last: boolean; sync: boolean }
  // With reuse, two scratch buffers take turns: the next part is read into one while the consumer holds the other.
  const scratch = [new ArrayBuffer(0), new ArrayBuffer(0)];
  let turn = 0;
  function* jobs(): Generator<Job> {
    for (const t of infos) {
      const total = numel(t.shape);
      if (t.dtype !== 'F32' && t.dtype !== 'BF16' && t.dtype !== 'F16') {
        yield { t, base: 0, n: total, buf: new ArrayBuffer(0), off: 0, len: 0, last: true, sync: true };
        continue;
      }
      const part = Math.max(1, Math.min(total, Math.floor(opts.partElements?.(t) ?? total)));
      for (let base = 0; base < total || base === 0; base += part) {
        const n = Math.min(part, total - base);
        turn ^= 1;
        if (opts.reuse && scratch[turn].byteLength < 4 * n) scratch[turn] = new ArrayBuffer(4 * n); // the old one may still be in use
        const buf = opts.reuse ? scratch[turn] : new ArrayBuffer(4 * n);
        if (n === 0) yield { t, base, n, buf, off: 0, len: 0, last: true, sync: false };
        for (let off = 0; off < n; off += chunk) yield { t, base, n, buf, off, len: Math.min(chunk, n - off), last: off + chunk >= n, sync: false };
      }
    }
  }
  const start = (j: Job): Promise<void> => {
    if (j.sync) return Promise.resolve();
    const w = dtypeBytes[j.t.dtype];
    const at = (j.t.dtype === 'F32' ? 0 : 2 * j.n) + w * j.off;
    return readAsync(fdFor(j.t.file), new Uint8Array(j.buf, at, w * j.len), j.t.begin + w * (j.base + j.off), j.t.file);
  };
  const it = jobs();
  let cur = it.next();
  if (cur.done) return;
  let curRead: Promise<void> = start(cur.value);
  let nextRead: Promise<void> | undefined;
  try {
    for (;;) {
      const next = it.next();
      await curRead;
      const j = cur.value;
      // Start the next read before yielding: it fills the other scratch buffer (with reuse, parts alternate), and the
      // consumer has finished with that one's last part, since it asked for this one.
      nextRead = next.done ? undefined : start(next.value);
      if (j.sync) {
        if (j.n > 0) yield { info: j.t, data: readTensorF32(fdFor(j.t.file), j.t, opts), offset: 0 };
        else yield { info: j.t, data: new Float32Array(0), offset: 0 };
      } else {
        convertRange(j.t, j.buf, j.n, j.off, j.len, requireFinite, j.base);
        if (j.last) yield { info: j.t, data: new Float32Array(j.buf, 0, j.n), offset: j.base };
      }
      if (next.done) break;
      cur = next;
      curRead = nextRead!;
      nextRead = undefined;
    }
  } finally {
    await nextRead?.catch(() => undefined); // never leave a read running into a buffer or fd the caller drops
  }
}

/** Reads one tensor without conversion (I64 → BigInt64Array, I32 → Int32Array, BF16/F16 → Uint16Array bits, …). */
export function readTensorRaw(fd: number, t: TensorInfo): RawTensorData {
  const bytes = new Uint8Array(t.end - t.begin);
  readExactly(fd, bytes, t.begin, t.file);
  const n = numel(t.shape);
  const b = bytes.buffer;
  switch (t.dtype) {
    case 'F32': return new Float32Array(b, 0, n);
    case 'F64': return new Float64Array(b, 0, n);
    case 'F16': case 'BF16': case 'U16': return new Uint16Array(b, 0, n);
    case 'I16': return new Int16Array(b, 0, n);
    case 'I32': return new Int32Array(b, 0, n);
    case 'U32': return new Uint32Array(b, 0, n);
    case 'I64': return new BigInt64Array(b, 0, n);
    case 'U64': return new BigUint64Array(b, 0, n);
    case 'I8': return new Int8Array(b, 0, n);
    default: return bytes;
  }
}

/** A set of safetensors files (one file, or the shards of an index) seen as one name → tensor table. */
export interface SafetensorsSet {
  /** The file or index the set was opened from. */
  readonly source: string;
  readonly files: readonly string[];
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  readFloat32(name: string, opts?: ReadF32Options): Float32Array;
  /** Several tensors as f32, in the given order, read and converted in a pipeline (see streamTensorsF32). */
  streamFloat32(names: readonly string[], opts?: StreamF32Options): AsyncGenerator<{ info: TensorInfo; data: Float32Array; offset: number }>;
  readRaw(name: string): RawTensorData;
  close(): void;
}

/**
 * Opens a .safetensors file, a model.safetensors.index.json, or a model folder (model.safetensors, else the
 * index). Every header is validated up front. Call close() when done (it closes the file descriptors).
 */
export function openSafetensors(path: string): SafetensorsSet {
  const source = resolveWeightsPath(path);
  const headers = source.endsWith('.json') ? readIndexHeaders(source) : [readSafetensorsHeader(source)];
  const tensors = new Map<string, TensorInfo>();
  for (const h of headers) for (const [k, t] of h.tensors) tensors.set(k, t);
  const fds = new Map<string, number>();
  const fdFor = (file: string): number => {
    let fd = fds.get(file);
    if (fd === undefined) { fd = openSync(file, 'r'); fds.set(file, fd); }
    return fd;
  };
  const info = (name: string): TensorInfo => {
    const t = tensors.get(name);
    if (!t) throw new LorakitError('LK_WEIGHTS', `tensor '${name}' is not in '${source}'`, { details: { file: source, tensor: name } });
    return t;
  };
  return {
    source,
    files: headers.map((h) => h.file),
    tensors,
    metadata: headers[0]?.metadata ?? {},
    readFloat32: (name, o) => { const t = info(name); return readTensorF32(fdFor(t.file), t, o); },
    streamFloat32: (names, o) => streamTensorsF32(fdFor, names.map(info), o),
    readRaw: (name) => { const t = info(name); return readTensorRaw(fdFor(t.file), t); },
    close: () => { for (const fd of fds.values()) closeSync(fd); fds.clear(); },
  };
}

/** The weights file of a model folder: model.safetensors, else model.safetensors.index.json. */
export function resolveWeightsPath(path: string): string {
  if (path.endsWith('.safetensors') || path.endsWith('.json')) return path;
  for (const name of ['model.safetensors', 'model.safetensors.index.json']) {
    if (existsSync(join(path, name))) return join(path, name);
  }
  const legacy = ['pytorch_model.bin', 'pytorch_model.bin.index.json'].find((n) => existsSync(join(path, n)));
  const pickleNote = legacy ? ` (only the pickle '${legacy}', which lorakit refuses to load)` : '';
  throw new LorakitError('LK_WEIGHTS', `'${path}' has no model.safetensors or model.safetensors.index.json${pickleNote}`, {
    details: { file: path },
    hint: legacy ? 'convert it to safetensors (e.g. with the safetensors convert script) first' : 'point at a Hugging Face model folder',
  });
}

function readIndexHeaders(index: string): SafetensorsHeader[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(index, 'utf8'));
  } catch (e) {
    throw new LorakitError('LK_SAFETENSORS', `cannot read the index '${index}': ${(e as Error).message}`, { cause: e, details: { file: index } });
  }
  const map = (raw as { weight_map?: unknown } | null)?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map) || !Object.values(map).every((v) => typeof v === 'string')) {
    throw new LorakitError('LK_SAFETENSORS', `'${index}': 'weight_map' must be an object of tensor name → shard file`, {
      details: { file: index, field: 'weight_map' },
    });
  }
  const weightMap = map as Record<string, string>;
  const shards = [...new Set(Object.values(weightMap))];
  const headers = shards.map((s) => readSafetensorsHeader(join(dirname(index), s)));
  const problems: string[] = [];
  const bad: string[] = [];
  const seen = new Map<string, string>();
  for (const h of headers) {
    for (const name of h.tensors.keys()) {
      const other = seen.get(name);
      if (other) { problems.push(`'${name}' is in both '${other}' and '${h.file}'`); bad.push(name); }
      seen.set(name, h.file);
    }
  }
  for (const [name, shard] of Object.entries(weightMap)) {
    const file = join(dirname(index), shard);
    if (!headers.find((h) => h.file === file)?.tensors.has(name)) {
      problems.push(`'${name}': the index puts it in '${shard}', which does not hold it`);
      bad.push(name);
    }
  }
  if (problems.length > 0) fail(index, problems, bad);
  return headers;
}

export interface TensorSummary { readonly name: string; readonly dtype: SafetensorsDtype; readonly shape: readonly number[] }

/** Names, dtypes and shapes from the header(s) alone (file, index or model folder). */
export function listTensors(path: string): TensorSummary[] {
  const set = openSafetensors(path);
  set.close();
  return [...set.tensors.values()].map(({ name, dtype, shape }) => ({ name, dtype, shape }));
}

/** Total element count from the header(s) alone. */
export function countParameters(path: string): number {
  return listTensors(path).reduce((a, t) => a + numel(t.shape), 0);
}
