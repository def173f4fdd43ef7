// Element types the engine uses, their typed arrays and ONNX TensorProto.DataType numbers.
// DataTypeMap ties each dtype name to its typed array (as ORT's js/common does), so feeds are checked by the compiler.
export interface DataTypeMap {
  float32: Float32Array;
  /** float64 exists for gradient checks against finite differences; models run in float32. */
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  bool: Uint8Array;
  /** Packed quantized weights (MatMulNBits); only ever initializers, never feeds. */
  uint8: Uint8Array;
}
export type DType = keyof DataTypeMap;
export type TypedArrayOf<D extends DType> = DataTypeMap[D];
export type AnyTypedArray = DataTypeMap[DType];

export const onnxDataType: { readonly [D in DType]: number } = { float32: 1, float64: 11, int64: 7, int32: 6, bool: 9, uint8: 2 };
export const bytesPerElement: { readonly [D in DType]: number } = { float32: 4, float64: 8, int64: 8, int32: 4, bool: 1, uint8: 1 };

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function allocate<D extends DType>(dtype: D, size: number): TypedArrayOf<D> {
  switch (dtype) {
    case 'float32': return new Float32Array(size) as TypedArrayOf<D>;
    case 'float64': return new Float64Array(size) as TypedArrayOf<D>;
    case 'int64': return new BigInt64Array(size) as TypedArrayOf<D>;
    case 'int32': return new Int32Array(size) as TypedArrayOf<D>;
    default: return new Uint8Array(size) as TypedArrayOf<D>;
  }
}

/** A Uint8Array reads as 'bool' (masks); uint8 tensors are always created with an explicit dtype. */
export function dtypeOfArray(a: AnyTypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  return 'bool';
}
