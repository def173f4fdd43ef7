// A quantized frozen base: the packed tensors by HF name, the scheme, and (for training with int8 compute only) the
// int8 packing of each Wᵀ that the backward pass multiplies by (see README "Model sizes and memory": faster than a
// blockwise dequantize-then-MatMul per layer, measured). Which tensors are quantized is decided here, once.
import { LorakitError } from '../../errors.js';
import type { ModelConfig } from '../config.js';
import { embeddingName, linearModules } from '../modules.js';
import { type QuantizedTensor, quantizeRows, transposeQuantized } from './quantize.js';
import type { QuantScheme } from './scheme.js';
import type { PackedStore } from './store.js';

export interface QuantizedBase {
  readonly scheme: QuantScheme;
  /** By HF tensor name; these tensors are not among the float weights. */
  readonly tensors: ReadonlyMap<string, QuantizedTensor>;
  /** int8 packing of Wᵀ (rows = input features), made on first use and kept: the backward pass of training. */
  transposed(name: string): QuantizedTensor;
}

/** The tensors a scheme quantizes: every linear weight, the input embedding and the (possibly tied) LM head. */
export function quantizedTensorNames(cfg: ModelConfig): Map<string, { transposedOnDisk: boolean }> {
  const out = new Map<string, { transposedOnDisk: boolean }>();
  for (const m of linearModules(cfg)) out.set(`${m.path}.weight`, { transposedOnDisk: m.conv1d });
  const embed = embeddingName(cfg);
  out.set(embed, { transposedOnDisk: false });
  if (!cfg.tieWordEmbeddings) out.set('lm_head.weight', { transposedOnDisk: false });
  return out;
}

/**
 * Quantizes one float tensor as loaded: (out, in) rows, or (in, out) for GPT-2's Conv1D. The input dim must be a
 * multiple of the block size.
 */
export function quantizeTensor(
  name: string, data: Float32Array, shape: readonly number[], s: QuantScheme, transposedOnDisk: boolean,
): QuantizedTensor {
  const [rows, cols] = transposedOnDisk ? [shape[1], shape[0]] : [shape[0], shape[1]];
  if (shape.length !== 2 || cols % s.blockSize !== 0) {
    throw new LorakitError('LK_QUANT',
      `cannot quantize '${name}' [${shape.join(', ')}] with block ${s.blockSize}: its input dim ${cols} is not a multiple of the block`, {
      hint: 'choose a --quant-block that divides the hidden and intermediate sizes', details: { tensor: name, shape, block: s.blockSize },
    });
  }
  return quantizeRows(data, rows, cols, s, transposedOnDisk);
}

/** `store`: where the Wᵀ packings go when made (a loaded base spills everything; see store.ts). */
export function makeQuantizedBase(scheme: QuantScheme, tensors: ReadonlyMap<string, QuantizedTensor>, store?: PackedStore): QuantizedBase {
  const cache = new Map<string, QuantizedTensor>();
  return {
    scheme, tensors,
    transposed(name) {
      let t = cache.get(name);
      if (!t) {
        const q = tensors.get(name);
        if (!q) throw new LorakitError('LK_INTERNAL', `no quantized tensor '${name}'`);
        // Wᵀ (k, n) from the dequantized (n, k) values: int8 blocks along n keep the backward within ≈ 0.4% of the
        // forward's own weights (int8 step = absmax/127), at 1 byte per parameter.
        t = transposeQuantized(q, { bits: 8, blockSize: scheme.blockSize, symmetric: true });
        cache.set(name, (t = store ? store.spill(t) : t));
      }
      return t;
    },
  };
}
