// model_type → family: its spec (families/<name>.ts) and its forward graph. Adding a family is one spec, one
// forward and one line here; nothing outside src/models branches on the family.
import type { CausalLMInputs, CausalLMOutputs, ModelContext } from '../architecture.js';
import type { ModelConfig } from '../config.js';
import { gpt2Forward } from '../gpt2.js';
import { llamaForward } from '../llama.js';
import { gpt2 } from './gpt2.js';
import { llama, mistral, qwen2 } from './llama.js';
import type { FamilySpec } from './spec.js';

export type Forward = (cfg: ModelConfig, ctx: ModelContext, io: CausalLMInputs) => CausalLMOutputs;
export interface Family extends FamilySpec {
  readonly forward: Forward;
}

export const families = {
  llama: { ...llama, forward: llamaForward },
  mistral: { ...mistral, forward: llamaForward },
  qwen2: { ...qwen2, forward: llamaForward },
  gpt2: { ...gpt2, forward: gpt2Forward },
} satisfies Record<string, Family>;

export type ModelType = keyof typeof families;

export const isModelType = (t: unknown): t is ModelType => typeof t === 'string' && Object.hasOwn(families, t);

export function familyOf(cfg: Pick<ModelConfig, 'modelType'>): Family {
  return families[cfg.modelType];
}
