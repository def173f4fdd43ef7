// ModelProto bytes → a plain node list, for structural checks on what ORT actually runs (the optimized model it
// writes with LORAKIT_ORT_OPTIMIZED or `optimizedModelPath`): which ops read which tensors. Not a full ONNX reader:
// fields outside onnx-schema.ts are skipped.
import protobuf from 'protobufjs/light.js';
import { onnxSchema } from './onnx-schema.js';

const ModelProto = protobuf.Root.fromJSON(onnxSchema as unknown as protobuf.INamespace).lookupType('onnx.ModelProto');

export interface DecodedNode {
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** INT and INTS attributes only (enough for perm, transA/transB, axis). */
  readonly attrs: Readonly<Record<string, number | readonly number[]>>;
}

export interface DecodedModel {
  readonly nodes: readonly DecodedNode[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly initializers: readonly string[];
}

interface RawAttr { name: string; i?: number | { toNumber(): number }; ints?: (number | { toNumber(): number })[] }
const num = (v: number | { toNumber(): number }): number => (typeof v === 'number' ? v : v.toNumber());

export function decodeModel(bytes: Uint8Array): DecodedModel {
  const m = ModelProto.toObject(ModelProto.decode(bytes), { defaults: false }) as {
    graph: { node?: { opType: string; domain?: string; name?: string; input?: string[]; output?: string[]; attribute?: RawAttr[] }[];
      input?: { name: string }[]; output?: { name: string }[]; initializer?: { name: string }[] };
  };
  const g = m.graph;
  return {
    nodes: (g.node ?? []).map((n) => ({
      opType: n.opType, domain: n.domain ?? '', name: n.name ?? '', inputs: n.input ?? [], outputs: n.output ?? [],
      attrs: Object.fromEntries((n.attribute ?? []).filter((a) => a.i !== undefined || a.ints?.length)
        .map((a) => [a.name, a.ints?.length ? a.ints.map(num) : num(a.i!)])),
    })),
    inputs: (g.input ?? []).map((x) => x.name),
    outputs: (g.output ?? []).map((x) => x.name),
    initializers: (g.initializer ?? []).map((x) => x.name),
  };
}
