// The engine's public surface: graph builder, ops, autodiff, runtime.
export { Graph, Sym } from './graph/graph.js';
export type { GraphNode, ConstTensor, AttrValue, Segment } from './graph/graph.js';
export type { DType, AnyTypedArray, DataTypeMap } from './graph/dtype.js';
export type { Dim, Shape } from './graph/dim.js';
export * from './ops/elementwise.js';
export * from './ops/matmul.js';
export * from './ops/reduce.js';
export * from './ops/shape.js';
export * from './ops/nn.js';
export { grad } from './grad/grad.js';
export type { GradOptions } from './grad/grad.js';
export { gradRules, primitiveOps } from './grad/rules.js';
export type { PrimitiveOp, GradRule } from './grad/rules.js';
export { emitModel, OPSET } from './onnx/emit.js';
export { decodeModel } from './onnx/decode.js';
export type { DecodedModel, DecodedNode } from './onnx/decode.js';
export { compile, clearSessionCache, defaultThreads, CompiledGraph } from './runtime/session.js';
export type { TensorValue, CompileOptions } from './runtime/session.js';
