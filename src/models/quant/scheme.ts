// The quantization scheme of a frozen base: what `--quantize`, `--quant-block`, `--quant-zero-point` and
// `--quant-accuracy` select, its validation, and the short label that becomes part of a base's identity.
import { LorakitError } from '../../errors.js';

export type QuantMode = 'none' | 'int8' | 'int4';
export const QUANT_MODES: readonly QuantMode[] = ['none', 'int8', 'int4'];
export const QUANT_BLOCKS = [16, 32, 64, 128] as const;
export type QuantBlock = (typeof QUANT_BLOCKS)[number];

export interface QuantScheme {
  readonly bits: 4 | 8;
  /** Weights per block along the input dim; one scale (and zero point) per block. */
  readonly blockSize: QuantBlock;
  /** true: zero point fixed at 2^(bits−1) (q − 8 or q − 128); false: a zero point per block (min/max range). */
  readonly symmetric: boolean;
  /** 'float' (MatMulNBits accuracy level 0: exact w.r.t. the dequantized weights) or 'int8' (level 4: faster). */
  readonly accuracy: 'float' | 'int8';
}

export interface QuantOptions {
  readonly quantize?: QuantMode;
  readonly block?: number;
  readonly zeroPoint?: boolean;
  readonly accuracy?: 'float' | 'int8';
}

/** Defaults: block 32, symmetric, int8 compute (the fast kernels; see README "Model sizes and memory"). */
export function resolveQuantScheme(o: QuantOptions): QuantScheme | null {
  const mode = o.quantize ?? 'none';
  if (!QUANT_MODES.includes(mode)) throw new LorakitError('LK_QUANT', `quantize: '${String(mode)}' is not one of ${QUANT_MODES.join(', ')}`);
  if (mode === 'none') return null;
  const block = o.block ?? 32;
  if (!(QUANT_BLOCKS as readonly number[]).includes(block)) {
    throw new LorakitError('LK_QUANT', `quant block: ${block} is not one of ${QUANT_BLOCKS.join(', ')}`);
  }
  return { bits: mode === 'int4' ? 4 : 8, blockSize: block as QuantBlock, symmetric: !o.zeroPoint, accuracy: o.accuracy ?? 'int8' };
}

/** Reads a label back into options ('none' → quantize none); undefined for a label this version cannot read. */
export function parseQuantLabel(label: string): QuantOptions | undefined {
  if (label === 'none') return { quantize: 'none' };
  const m = /^int(4|8)-b(\d+)-(sym|zp)-(acc8|accf)$/.exec(label);
  if (!m) return undefined;
  return { quantize: m[1] === '4' ? 'int4' : 'int8', block: Number(m[2]), zeroPoint: m[3] === 'zp', accuracy: m[4] === 'acc8' ? 'int8' : 'float' };
}

/**
 * The precision an adapter was trained on against the one it runs on, as a sentence, or null when they agree
 * (an adapter without a record is taken as trained on a float base).
 */
export function precisionMismatch(trainedOn: string | undefined, runningOn: string): string | null {
  const trained = trainedOn ?? 'none';
  if (trained === runningOn) return null;
  const name = (l: string): string => (l === 'none' ? 'a full-precision base' : `an ${l} base`);
  return `trained on ${name(trained)}, running on ${name(runningOn)}: outputs drift from what training saw`;
}

/** 'int4-b32-sym-acc8': recorded with adapters and in the registry as part of the base identity. */
export function quantLabel(s: QuantScheme | null): string {
  if (!s) return 'none';
  return `int${s.bits}-b${s.blockSize}-${s.symmetric ? 'sym' : 'zp'}-${s.accuracy === 'int8' ? 'acc8' : 'accf'}`;
}
