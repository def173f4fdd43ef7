// A bundled domain suite for the quickstart's State of the Union fine-tune: perplexity on the held-out
// addresses (isSotuHeldOut: years divisible by 10), plus the general forgetting tasks, with a promotion gate.
export const sotu = {
  name: 'sotu',
  description:
    'Domain gain on held-out State of the Union addresses (years divisible by 10, first 400 tokens each) and forgetting on held-out Brown text.',
  include: ['general'],
  tasks: [
    { name: 'sotu-heldout', type: 'perplexity', tag: 'domain', source: { builtin: 'sotu-heldout' }, max_tokens_per_document: 400, max_tokens: 12000 },
  ],
  gate: { domain_perplexity_drop_pct: 5, max_general_regression_pct: 2 },
} as const;
