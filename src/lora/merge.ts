// Merging: W' = W + ΔW for each adapted module (ΔW: loraWeightDelta in linear.ts, in the layout the base stores W).
// The products run on the engine (one small graph per shape), not in JS loops.
import { type CompiledGraph, Graph, add, compile } from '../engine/index.js';
import { storedShape } from '../models/architecture.js';
import type { Adapter } from './adapter.js';
import { loraWeightDelta } from './linear.js';

const graphs = new Map<string, Promise<CompiledGraph>>();

function mergeGraph(out: number, inn: number, r: number, conv1d: boolean): Promise<CompiledGraph> {
  const key = `${out}x${inn}x${r}${conv1d ? 't' : ''}`;
  let p = graphs.get(key);
  if (!p) {
    const g = new Graph(`merge_${key}`);
    const w = g.input('w', 'float32', storedShape({ inFeatures: inn, outFeatures: out, conv1d }));
    const a = g.input('a', 'float32', [r, inn]), b = g.input('b', 'float32', [out, r]);
    g.output('merged', add(w, loraWeightDelta(a, b, g.input('scaling', 'float32', []), conv1d)));
    p = compile(g);
    graphs.set(key, p);
  }
  return p;
}

/** Returns new weights for every adapted module (`path.weight` → merged data); the base arrays are not modified. */
export async function mergeAdapterWeights(
  weights: ReadonlyMap<string, Float32Array>,
  adapter: Pick<Adapter, 'sites' | 'tensors'>,
): Promise<Map<string, Float32Array>> {
  const merged = new Map<string, Float32Array>();
  for (const s of adapter.sites) {
    const name = `${s.spec.path}.weight`;
    const w = weights.get(name)!;
    const { inFeatures: inn, outFeatures: out } = s.spec;
    const g = await mergeGraph(out, inn, s.r, s.spec.conv1d);
    const r = await g.run({
      w: { data: w, dims: storedShape(s.spec) },
      a: adapter.tensors.get(s.keyA)!, b: adapter.tensors.get(s.keyB)!,
      scaling: { data: new Float32Array([s.scaling]), dims: [] },
    });
    merged.set(name, r.merged.data as Float32Array);
  }
  return merged;
}
