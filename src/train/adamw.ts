// AdamW (decoupled weight decay, Loshchilov & Hutter) over flat Float32Array parameters, with global
// gradient-norm clipping. It runs in TypeScript because adapter parameters are small (well under 1% of the model):
// one fused pass over p, g, m, v costs O(params), measured in `npm run bench -- train` against the step itself.
export interface AdamWConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

export const defaultAdamW: AdamWConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.0 };

export interface AdamWState {
  step: number;
  readonly m: Float32Array[];
  readonly v: Float32Array[];
}

export function createAdamWState(params: readonly Float32Array[]): AdamWState {
  return { step: 0, m: params.map((p) => new Float32Array(p.length)), v: params.map((p) => new Float32Array(p.length)) };
}

/** L2 norm over all gradients (float64 accumulation). */
export function globalNorm(grads: readonly Float32Array[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/**
 * The gradient scale of one optimizer step from summed gradients: the mean over `targets` target tokens, lowered so the
 * global norm stays within `maxNorm` (0: no clipping). `norm` is the norm before clipping, as reported per step.
 */
export function clippedScale(grads: readonly Float32Array[], targets: number, maxNorm: number): { scale: number; norm: number } {
  let scale = targets > 0 ? 1 / targets : 0;
  const norm = globalNorm(grads) * scale;
  if (maxNorm > 0 && norm > maxNorm) scale *= maxNorm / (norm + 1e-6);
  return { scale, norm };
}

/**
 * One AdamW step in place. `gradScale` multiplies every gradient first (e.g. 1/accumulation steps, or the clip factor).
 * Returns nothing; `state.step` is incremented.
 */
export function adamwStep(
  params: readonly Float32Array[], grads: readonly Float32Array[], state: AdamWState, cfg: AdamWConfig, lr: number,
  gradScale = 1,
): void {
  state.step += 1;
  const { beta1, beta2, eps, weightDecay } = cfg;
  const bc1 = 1 - Math.pow(beta1, state.step), bc2 = 1 - Math.pow(beta2, state.step);
  const stepSize = lr / bc1, decay = 1 - lr * weightDecay;
  const invSqrtBc2 = 1 / Math.sqrt(bc2);
  for (let t = 0; t < params.length; t++) {
    const p = params[t], g = grads[t], m = state.m[t], v = state.v[t];
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * gradScale;
      const mi = beta1 * m[i] + (1 - beta1) * gi;
      const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * decay - stepSize * mi / (Math.sqrt(vi) * invSqrtBc2 + eps);
    }
  }
}

/** Learning rate at `step` (0-based): linear warmup, then cosine or linear decay to `minRatio`·lr, or constant. */
export function scheduledLr(
  step: number,
  o: {
    lr: number;
    warmupSteps: number;
    totalSteps: number;
    schedule: 'cosine' | 'linear' | 'constant';
    minRatio?: number;
  },
): number {
  const min = o.minRatio ?? 0;
  if (o.warmupSteps > 0 && step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  if (o.schedule === 'constant') return o.lr;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const t = Math.min(1, (step - o.warmupSteps) / span);
  const f = o.schedule === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * t)) : 1 - t;
  return o.lr * (min + (1 - min) * f);
}
