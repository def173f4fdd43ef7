// The quantized-base flags every verb that loads a base shares (train, score, generate, eval, serve, quickstart):
// one table, so their names, help and validation cannot drift apart.
import type { FlagSpec } from './command.js';
import { oneOf } from './parse.js';
import { QUANT_BLOCKS, QUANT_MODES, type QuantMode, type QuantOptions } from '../models/quant/scheme.js';

export interface QuantFlags {
  quantize: QuantMode | undefined;
  quantBlock: number | undefined;
  quantZeroPoint: boolean | undefined;
  quantAccuracy: 'float' | 'int8' | undefined;
}

const blocks = QUANT_BLOCKS.map(String) as readonly string[];

export const quantFlags: { readonly [K in keyof QuantFlags]-?: FlagSpec<QuantFlags[K]> } = {
  quantize: {
    arg: '<mode>',
    help: 'quantize the frozen base while loading: none, int8 or int4 (adapters stay float32) [default: none]',
    parse: oneOf(QUANT_MODES),
  },
  quantBlock: {
    arg: '<n>',
    help: `weights per quantization block: ${blocks.join(', ')} [default: 32]`,
    parse: (raw, flag) => Number(oneOf(blocks)(raw, flag)),
  },
  quantZeroPoint: { help: 'asymmetric quantization with a zero point per block (default: symmetric)' },
  quantAccuracy: {
    arg: '<kind>',
    help: "MatMulNBits compute: 'int8' (fast, default) or 'float' (exact w.r.t. the quantized weights)",
    parse: oneOf(['float', 'int8'] as const),
  },
};

export const quantOptions = (f: QuantFlags): QuantOptions => ({
  quantize: f.quantize,
  block: f.quantBlock,
  zeroPoint: f.quantZeroPoint,
  accuracy: f.quantAccuracy,
});
