// The graph builder: symbolic tensors (Sym) with dtype and shape, nodes in creation (= topological) order.
// Shapes are inferred at build time by each op builder (src/engine/ops), so shape errors name the op and the
// shapes before ONNX Runtime ever sees the graph.
import { LorakitError } from '../../errors.js';
import { type AnyTypedArray, type DType, bytesPerElement, dtypeOfArray } from './dtype.js';
import { type Shape, isStatic, normalizeDim, numel, shapeStr } from './dim.js';

export type AttrValue =
  | number | string | readonly number[] | readonly string[] | ConstTensor
  | { readonly float: number } | { readonly floats: readonly number[] };

/**
 * An initializer's bytes in a file that ORT reads itself (memory-mapping it, then dropping the mapping once a kernel
 * has prepacked the tensor): `location` is relative to `folder`, the whole file is the tensor. The file must not
 * change while a session may still be created from it.
 */
export interface ExternalFile { readonly folder: string; readonly location: string; readonly byteLength: number }

export type ConstTensor = InlineConst | FileConst;

export interface InlineConst {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: AnyTypedArray;
  /**
   * Emitted as ONNX external data (the bytes stay in this array and reach ORT as in-memory external data, not
   * copied into the model protobuf): large initializers such as packed quantized weights.
   */
  readonly external?: boolean;
  readonly file?: undefined;
}

/** A constant whose bytes only ORT reads, from a file (see ExternalFile); no JS copy exists. */
export interface FileConst {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly file: ExternalFile;
  readonly data?: undefined;
  readonly external?: undefined;
}

export interface GraphNode {
  readonly id: number;
  readonly op: string;
  readonly inputs: readonly (Sym | null)[];
  readonly outputs: readonly Sym[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly domain: string;
}

/** Contrib ops (MatMulNBits) live in onnxruntime's 'com.microsoft' domain (imported at version 1). */
export const MS_DOMAIN = 'com.microsoft';

export type SymKind = 'input' | 'const' | 'node';

export class Sym {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly kind: SymKind,
    /** Set for inputs and constants; node outputs get a generated name at emission unless named. */
    public name: string | undefined,
    readonly producer: GraphNode | null,
    readonly value: ConstTensor | undefined,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name ?? `%${this.id}`}:${this.dtype}${shapeStr(this.shape)}`;
  }
}

export interface OutputSpec { readonly dtype: DType; readonly shape: Shape }

/** Nodes first..last (ids) computed from `input` (a decoder layer): the unit grad({checkpoint}) recomputes. */
export interface Segment { readonly input: Sym; readonly output: Sym; readonly first: number; readonly last: number }

export class Graph {
  readonly nodes: GraphNode[] = [];
  readonly inputs: Sym[] = [];
  readonly constants: Sym[] = [];
  readonly outputs = new Map<string, Sym>();
  readonly segments: Segment[] = [];
  private nextId = 0;
  private readonly inputNames = new Set<string>();
  private readonly constCache = new Map<string, Sym>();

  constructor(readonly name = 'lorakit') {}

  /** A runtime input (activations, ids, masks, and weights: see engine/README for why weights are inputs). */
  input(name: string, dtype: DType, shape: Shape): Sym {
    if (this.inputNames.has(name)) throw new LorakitError('LK_GRAPH', `graph '${this.name}': input '${name}' declared twice`);
    this.inputNames.add(name);
    const s = new Sym(this, this.nextId++, dtype, shape.map(normalizeDim), 'input', name, null, undefined);
    this.inputs.push(s);
    return s;
  }

  /**
   * An initializer baked into the model. Small constants are deduplicated by value. `dtype` is needed only for
   * uint8 (a Uint8Array otherwise reads as bool); `external` keeps the bytes out of the protobuf (see ConstTensor).
   */
  constant(data: AnyTypedArray, shape: readonly number[], name?: string, o: { dtype?: DType; external?: boolean } = {}): Sym {
    const dtype = o.dtype ?? dtypeOfArray(data);
    if (numel(shape) !== data.length) {
      throw new LorakitError(
        'LK_SHAPE',
        `constant${name ? ` '${name}'` : ''}: shape ${shapeStr(shape)} needs ${numel(shape)} values, got ${data.length}`,
      );
    }
    const key = !name && data.length <= 16 ? `${dtype}|${shape.join(',')}|${Array.from(data as ArrayLike<unknown>, String).join(',')}` : undefined;
    if (key) {
      const hit = this.constCache.get(key);
      if (hit) return hit;
    }
    const value: ConstTensor = o.external ? { dtype, shape, data, external: true } : { dtype, shape, data };
    const s = new Sym(this, this.nextId++, dtype, shape, 'const', name ?? `c${this.nextId - 1}`, null, value);
    this.constants.push(s);
    if (key) this.constCache.set(key, s);
    return s;
  }

  /** An initializer stored in a file that ORT maps (see ExternalFile); its size must match shape × dtype. */
  fileConstant(file: ExternalFile, shape: readonly number[], dtype: DType, name: string): Sym {
    const bytes = numel(shape) * bytesPerElement[dtype];
    if (bytes !== file.byteLength) {
      throw new LorakitError(
        'LK_SHAPE',
        `constant '${name}': shape ${shapeStr(shape)} of ${dtype} needs ${bytes} bytes, file '${file.location}' holds ${file.byteLength}`,
      );
    }
    const s = new Sym(this, this.nextId++, dtype, shape, 'const', name, null, { dtype, shape, file });
    this.constants.push(s);
    return s;
  }

  scalar(v: number, dtype: DType = 'float32'): Sym {
    const data = dtype === 'float32' ? new Float32Array([v]) : dtype === 'float64' ? new Float64Array([v])
      : dtype === 'int64' ? new BigInt64Array([BigInt(v)]) : dtype === 'int32' ? new Int32Array([v])
        : new Uint8Array([dtype === 'uint8' ? v : v ? 1 : 0]);
    return this.constant(data, [], undefined, { dtype });
  }

  ints(v: readonly number[]): Sym {
    return this.constant(new BigInt64Array(v.map((x) => BigInt(x))), [v.length]);
  }

  /** Appends a node; op builders call this after inferring the output specs. */
  node(op: string, inputs: readonly (Sym | null)[], attrs: Readonly<Record<string, AttrValue>>, outs: readonly OutputSpec[], domain = ''): Sym[] {
    for (const x of inputs) {
      if (x && x.graph !== this) throw new LorakitError('LK_GRAPH', `${op}: input ${x} belongs to graph '${x.graph.name}', not '${this.name}'`);
    }
    const outputs: Sym[] = [];
    const node: GraphNode = { id: this.nodes.length, op, inputs: [...inputs], outputs, attrs, domain };
    for (const o of outs) outputs.push(new Sym(this, this.nextId++, o.dtype, o.shape.map(normalizeDim), 'node', undefined, node, undefined));
    this.nodes.push(node);
    return outputs;
  }

  /**
   * Builds `body(x)` and records its nodes as one checkpoint segment (model code wraps each decoder layer). Costs
   * nothing unless grad() is asked to checkpoint: then the backward pass recomputes the segment from `x`.
   */
  segment(x: Sym, body: (x: Sym) => Sym): Sym {
    const first = this.nodes.length;
    const y = body(x);
    if (this.nodes.length > first) this.segments.push({ input: x, output: y, first, last: this.nodes.length - 1 });
    return y;
  }

  /** Marks `sym` as a graph output under `name`. */
  output(name: string, sym: Sym): void {
    if (sym.graph !== this) throw new LorakitError('LK_GRAPH', `output '${name}': tensor ${sym} belongs to another graph`);
    if (this.outputs.has(name) || this.inputNames.has(name))
      throw new LorakitError('LK_GRAPH', `graph '${this.name}': output name '${name}' already used`);
    this.outputs.set(name, sym);
  }

  /** Static numeric size of a Sym (throws LK_SHAPE if it has dynamic dims). */
  static numel(s: Sym): number {
    if (!isStatic(s.shape)) throw new LorakitError('LK_SHAPE', `tensor ${s} has dynamic dims; a static size was needed`);
    return numel(s.shape);
  }
}
