// One compiled training step: forward over a (packed) batch, the summed next-token loss, and its gradient with
// respect to every adapter tensor — one session run. Base weights are inputs that no gradient touches.
import { type CompiledGraph, compile, grad } from '../engine/index.js';
import { LorakitError } from '../errors.js';
import { DROPOUT_SEED_INPUT } from '../lora/linear.js';
import type { CausalLM, LinearAdapter } from '../models/causal-lm.js';
import { buildCausalLMGraph } from '../models/graphs.js';
import type { TrainBatch } from './batches.js';

/**
 * How training runs a quantized base: 'fast' keeps MatMulNBits (prepacked per session) and, with int8 compute, an
 * int8 packing of each Wᵀ for the backward pass; 'low-memory' dequantizes decoder-layer weights blockwise where they
 * are used, so only the packed bytes stay resident (slower; implies gradient checkpointing). README "Model sizes and
 * memory" has the measured figures of both.
 */
export type QloraMode = 'fast' | 'low-memory';

export interface StepResult { readonly lossSum: number; readonly tokens: number }

export class TrainStep {
  private constructor(
    private readonly lm: CausalLM,
    private readonly session: CompiledGraph,
    private readonly weightInputs: readonly string[],
    readonly paramNames: readonly string[],
    private readonly packed: boolean,
  ) {}

  /** Builds the step for `adapter`'s tensors (the trainable parameters), in the given order. */
  static async create(
    lm: CausalLM, adapter: LinearAdapter, paramNames: readonly string[],
    o: { packed: boolean; threads?: number; checkpointing?: boolean; qloraMode?: QloraMode },
  ): Promise<TrainStep> {
    // Low-memory QLoRA dequantizes each layer's weights inside its segment; without recomputation every dequantized
    // weight would stay alive until the backward pass (a float copy of the model), so it implies checkpointing.
    const lowMemory = o.qloraMode === 'low-memory' && lm.options.quant !== undefined;
    const shapes = new Map(lm.shapes);
    for (const [k, t] of adapter.tensors) shapes.set(k, t.dims);
    const built = buildCausalLMGraph(lm.config, {
      mode: 'score', packed: o.packed, shapes, wrapLinear: adapter.wrapLinear, quant: lm.options.quant, name: `${lm.config.modelType}_train`,
      quantKernels: lowMemory ? 'dequantize' : 'packed',
    });
    const g = built.graph;
    const params = paramNames.map((n) => {
      const s = g.inputs.find((x) => x.name === n);
      if (!s) throw new LorakitError('LK_INTERNAL', `train step: adapter tensor '${n}' is not used by the model graph`);
      return s;
    });
    const checkpointed = o.checkpointing || lowMemory;
    grad(built.lossSum!, params, { checkpoint: checkpointed }).forEach((d, i) => g.output(`grad.${paramNames[i]}`, d));
    // No memory pattern: ORT's arena then reuses the first run's chunks instead of adding a planned block beside them
    // (see CompileOptions.memPattern for the figures). CSE off when checkpointing: see CompileOptions.disabledOptimizers.
    const session = await compile(g, {
      threads: o.threads, memPattern: false,
      disabledOptimizers: checkpointed ? ['CommonSubexpressionElimination'] : [],
    });
    return new TrainStep(lm, session, built.weightInputs, paramNames, o.packed);
  }

  /**
   * Runs forward + backward; gradients of the summed loss are written into `gradsOut` (same order as paramNames).
   * `dropoutSeed` picks the LoRA dropout masks (graphs built with dropout only).
   */
  async run(batch: TrainBatch, adapter: LinearAdapter, gradsOut: readonly Float32Array[], dropoutSeed = 0): Promise<StepResult> {
    const dims = [batch.batch, batch.seq];
    const feeds = {
      ...this.lm.weightFeeds(this.weightInputs, adapter),
      input_ids: { data: batch.inputIds, dims }, attention_mask: { data: batch.attentionMask, dims },
      position_ids: { data: batch.positionIds, dims }, labels: { data: batch.labels, dims },
      ...(this.packed ? { segment_ids: { data: batch.segmentIds!, dims } } : {}),
      ...(this.session.inputs.some((i) => i.name === DROPOUT_SEED_INPUT)
        ? { [DROPOUT_SEED_INPUT]: { data: new BigInt64Array([BigInt(dropoutSeed)]), dims: [] } }
        : {}),
    };
    const into = Object.fromEntries(this.paramNames.map((n, i) => [`grad.${n}`, gradsOut[i]]));
    const r = await this.session.run(feeds, into);
    return { lossSum: (r.loss_sum.data as Float32Array)[0], tokens: (r.token_count.data as Float32Array)[0] };
  }
}
