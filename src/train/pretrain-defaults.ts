// Defaults of `lorakit pretrain`, in a file of their own so the CLI can show them without loading the engine.
export const pretrainDefaults = {
  hidden: 256, layers: 6, heads: 4, maxPositions: 1024, steps: 1000, seq: 256, batch: 8, lr: 2e-3, minLrRatio: 0.1, warmupSteps: 100,
  weightDecay: 0.1, beta1: 0.9, beta2: 0.95, maxGradNorm: 1.0, seed: 0, evalEvery: 100, evalRows: 32, saveEvery: 50, samplePrompt: 'The jury said',
} as const;
