// Graph → ONNX ModelProto bytes. Emits only the nodes the outputs need (so unused backward branches cost nothing),
// names node outputs t<id> unless they are graph outputs, and records static and named dynamic dims.
import protobuf from 'protobufjs/light.js';
import { LorakitError } from '../../errors.js';
import { onnxDataType } from '../graph/dtype.js';
import type { Shape } from '../graph/dim.js';
import { type AttrValue, type ConstTensor, type Graph, type GraphNode, type InlineConst, type Sym } from '../graph/graph.js';
import { AttrType, onnxSchema } from './onnx-schema.js';

export const OPSET = 18;
const root = protobuf.Root.fromJSON(onnxSchema as unknown as protobuf.INamespace);
const ModelProto = root.lookupType('onnx.ModelProto');

export interface EmitResult {
  readonly bytes: Uint8Array;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly nodeCount: number;
  /** In-memory external data files the model refers to (one per external initializer, named by `path`). */
  readonly externalData: readonly { readonly path: string; readonly data: Uint8Array }[];
  /** The folder of file-backed initializers (FileConst), which ORT reads itself; all of a model's share one. */
  readonly externalFolder?: string;
  /** The files of file-backed initializers, relative to externalFolder (named in `bytes` too). */
  readonly externalFiles: readonly string[];
}

function bytesOf(t: InlineConst): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function tensorProto(t: ConstTensor, name: string, inMemoryPath: string): Record<string, unknown> {
  const head = { dims: t.shape, dataType: onnxDataType[t.dtype], name };
  const ext = (location: string, length: number): Record<string, unknown> => ({
    ...head, dataLocation: 1,
    externalData: [{ key: 'location', value: location }, { key: 'offset', value: '0' }, { key: 'length', value: String(length) }],
  });
  if (t.file) return ext(t.file.location, t.file.byteLength);
  return t.external ? ext(inMemoryPath, t.data.byteLength) : { ...head, rawData: bytesOf(t) };
}

function attrProto(name: string, v: AttrValue): Record<string, unknown> {
  if (typeof v === 'number') return { name, i: v, type: AttrType.INT };
  if (typeof v === 'string') return { name, s: Buffer.from(v, 'utf8'), type: AttrType.STRING };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'number')) return { name, ints: v, type: AttrType.INTS };
    return { name, strings: (v as string[]).map((s) => Buffer.from(s, 'utf8')), type: AttrType.STRINGS };
  }
  if ('float' in v) return { name, f: v.float, type: AttrType.FLOAT };
  if ('floats' in v) return { name, floats: v.floats, type: AttrType.FLOATS };
  const t = v as ConstTensor;
  if (t.file || t.external) throw new LorakitError('LK_INTERNAL', `ONNX emit: attribute '${name}' cannot hold an external tensor`);
  return { name, t: { dims: t.shape, dataType: onnxDataType[t.dtype], rawData: bytesOf(t) }, type: AttrType.TENSOR };
}

function valueInfo(name: string, s: { dtype: Sym['dtype']; shape: Shape }): Record<string, unknown> {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxDataType[s.dtype],
        shape: { dim: s.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function emitModel(g: Graph): EmitResult {
  if (g.outputs.size === 0) throw new LorakitError('LK_GRAPH', `graph '${g.name}' has no outputs`);
  // Liveness: walk back from the outputs.
  const live = new Set<number>();
  const liveNodes = new Set<GraphNode>();
  const stack: Sym[] = [...g.outputs.values()];
  while (stack.length) {
    const s = stack.pop()!;
    if (live.has(s.id)) continue;
    live.add(s.id);
    if (s.producer && !liveNodes.has(s.producer)) {
      liveNodes.add(s.producer);
      for (const x of s.producer.inputs) if (x) stack.push(x);
    }
  }
  // Graph outputs produced by a node take the output's name; anything else (an input, a constant, a tensor
  // exported twice) goes through an Identity.
  const names = new Map<number, string>();
  for (const [name, s] of g.outputs) if (s.kind === 'node' && !names.has(s.id)) names.set(s.id, name);
  const nameOf = (s: Sym): string => names.get(s.id) ?? s.name ?? `t${s.id}`;
  const extraIdentity = [...g.outputs].filter(([name, s]) => nameOf(s) !== name)
    .map(([name, s]) => ({ input: [nameOf(s)], output: [name], opType: 'Identity', name: `out_${name}` }));

  const nodes = g.nodes.filter((n) => liveNodes.has(n)).map((n) => ({
    input: n.inputs.map((x) => (x ? nameOf(x) : '')),
    output: n.outputs.map(nameOf),
    name: `${n.op}_${n.id}`,
    opType: n.op,
    domain: n.domain,
    attribute: Object.entries(n.attrs).map(([k, v]) => attrProto(k, v)),
  }));
  const inputs = g.inputs.filter((s) => live.has(s.id));
  const constants = g.constants.filter((s) => live.has(s.id));
  const externalData = constants.flatMap((s) => (s.value!.external ? [{ path: `${nameOf(s)}.bin`, data: bytesOf(s.value!) }] : []));
  const files = constants.flatMap((s) => (s.value!.file ? [s.value!.file] : []));
  const folders = [...new Set(files.map((f) => f.folder))];
  if (folders.length > 1) {
    throw new LorakitError(
      'LK_INTERNAL',
      `ONNX emit: file-backed initializers come from ${folders.length} folders (${folders.join(', ')}); a model can read one`,
    );
  }
  const contribDomains = [...new Set(nodes.map((n) => n.domain))].filter((d) => d);
  const model = {
    irVersion: 8,
    // com.microsoft (FusedMatMul, and any other contrib op a builder emits) is imported only when used.
    opsetImport: [{ domain: '', version: OPSET }, ...contribDomains.map((domain) => ({ domain, version: 1 }))],
    producerName: 'lorakit',
    producerVersion: '0.1.0',
    graph: {
      name: g.name,
      node: [...nodes, ...extraIdentity],
      initializer: constants.map((s) => tensorProto(s.value!, nameOf(s), `${nameOf(s)}.bin`)),
      input: inputs.map((s) => valueInfo(s.name!, s)),
      output: [...g.outputs].map(([name, s]) => valueInfo(name, s)),
    },
  };
  const err = ModelProto.verify(model);
  if (err) throw new LorakitError('LK_INTERNAL', `ONNX emit: ${err}`);
  const bytes = ModelProto.encode(ModelProto.fromObject(model)).finish();
  return {
    bytes,
    inputNames: inputs.map((s) => s.name!),
    outputNames: [...g.outputs.keys()],
    nodeCount: nodes.length + extraIdentity.length,
    externalData,
    ...(folders.length ? { externalFolder: folders[0] } : {}), externalFiles: files.map((f) => f.location),
  };
}
