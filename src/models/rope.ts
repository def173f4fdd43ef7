// Rotary inverse frequencies with HF's rope_scaling variants ('linear', 'llama3'), computed once on the TS side.
import type { ModelConfig } from './config.js';

export function ropeInvFreq(cfg: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float32Array {
  const d = cfg.headDim;
  const inv = Array.from({ length: d / 2 }, (_, i) => 1 / Math.pow(cfg.ropeTheta, (2 * i) / d));
  const s = cfg.ropeScaling;
  if (!s) return Float32Array.from(inv);
  if (s.type === 'linear') return Float32Array.from(inv, (f) => f / s.factor);
  // llama3 (transformers _compute_llama3_parameters): keep high frequencies, divide low ones by factor, blend between.
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  return Float32Array.from(inv, (f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}
