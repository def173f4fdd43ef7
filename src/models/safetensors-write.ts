// Writing safetensors files: tensors laid out as the Python writer does, BF16/F16 rounded to nearest even, written
// one tensor at a time through an atomic temp-file-and-rename (so only one converted copy exists at a time).
import { LorakitError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { dtypeBytes, f32ToBf16Bits, f32ToF16Bits } from './safetensors.js';

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export type WritableDtype = 'F32' | 'BF16' | 'F16' | 'I64' | 'I32';
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: WritableDtype;
  readonly shape: readonly number[];
  /**
   * F32: Float32Array. BF16/F16: Float32Array (rounded to nearest even) or Uint16Array (raw bits).
   * I64: BigInt64Array, Int32Array or number[]. I32: Int32Array or number[].
   */
  readonly data: Float32Array | Uint16Array | BigInt64Array | Int32Array | readonly number[];
}

function encodeTensor(t: TensorToWrite, file: string): Uint8Array {
  const n = numel(t.shape);
  if (t.data.length !== n) {
    throw new LorakitError('LK_ARG',
      `writeSafetensors '${file}': tensor '${t.name}' has ${t.data.length} values, shape [${t.shape.join(', ')}] needs ${n}`, {
      details: { file, tensor: t.name, expected: n, actual: t.data.length },
    });
  }
  const d = t.data;
  const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const wrong = (): never => {
    throw new LorakitError('LK_DTYPE', `writeSafetensors '${file}': tensor '${t.name}' as ${t.dtype} cannot take a ${d.constructor.name}`, {
      details: { file, tensor: t.name, dtype: t.dtype },
    });
  };
  switch (t.dtype) {
    case 'F32': return d instanceof Float32Array ? bytes(d) : Array.isArray(d) ? bytes(Float32Array.from(d)) : wrong();
    case 'BF16': case 'F16': {
      if (d instanceof Uint16Array) return bytes(d);
      const f = d instanceof Float32Array ? d : Array.isArray(d) ? Float32Array.from(d) : wrong();
      return bytes(t.dtype === 'BF16' ? f32ToBf16Bits(f) : f32ToF16Bits(f));
    }
    case 'I64': return d instanceof BigInt64Array ? bytes(d)
      : d instanceof Int32Array || Array.isArray(d) ? bytes(BigInt64Array.from(d as ArrayLike<number>, (x) => BigInt(x))) : wrong();
    case 'I32': return d instanceof Int32Array ? bytes(d) : Array.isArray(d) ? bytes(Int32Array.from(d)) : wrong();
  }
}

/**
 * Writes tensors to `path` atomically (temp file beside it, fsync, rename). Tensors are laid out like the
 * Python writer does (larger dtypes first, then by name) and the header is space-padded to 8 bytes.
 * Each tensor is encoded and written on its own, so only one converted copy exists at a time.
 */
export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): void {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name) || t.name === '__metadata__') {
      throw new LorakitError('LK_ARG', `writeSafetensors '${path}': duplicate or reserved tensor name '${t.name}'`, {
        details: { file: path, tensor: t.name },
      });
    }
    names.add(t.name);
  }
  const order = [...tensors].sort((a, b) => dtypeBytes[b.dtype] - dtypeBytes[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of order) {
    const len = numel(t.shape) * dtypeBytes[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + len] };
    off += len;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileAtomic(path, (function* chunks(): Generator<Uint8Array> {
    yield len;
    yield json;
    for (const t of order) yield encodeTensor(t, path);
  })());
}
