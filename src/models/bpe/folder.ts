// Writes a trained byte-level BPE as a Hugging Face tokenizer folder: tokenizer.json (v1.0 layout, loadable by
// `tokenizers`/transformers and @huggingface/tokenizers) and tokenizer_config.json with the special tokens and a
// chat template built from them. The special-token set is fixed here so model folders and templates agree.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../util/atomic.js';
import { type BpeModel, bpeTokenizerJson } from './trainer.js';

/** Special tokens of lorakit's own tokenizers, in id order after the merged symbols. */
export const DEFAULT_SPECIAL_TOKENS = ['<|endoftext|>', '<|pad|>', '<|system|>', '<|user|>', '<|assistant|>', '<|end|>'] as const;

/** `<|role|>\ncontent<|end|>\n` per message, then `<|assistant|>\n` for a generation prompt. */
export const CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

export interface TokenizerFolderInfo {
  readonly dir: string;
  readonly vocabSize: number;
  readonly merges: number;
  /** Ids of the special tokens by content. */
  readonly specialIds: Readonly<Record<string, number>>;
}

/** Id of each special token in the tokenizer.json written for `m`. */
export function specialTokenIds(m: BpeModel): Record<string, number> {
  const base = m.vocabSize - m.specialTokens.length;
  return Object.fromEntries(m.specialTokens.map((t, i) => [t, base + i]));
}

export function writeTokenizerFolder(dir: string, m: BpeModel, o: { modelMaxLength: number }): TokenizerFolderInfo {
  mkdirSync(dir, { recursive: true });
  const json = bpeTokenizerJson(m);
  writeJsonAtomic(join(dir, 'tokenizer.json'), json);
  const has = (t: string): boolean => m.specialTokens.includes(t);
  const eos = has('<|endoftext|>') ? '<|endoftext|>' : m.specialTokens[0];
  const pad = has('<|pad|>') ? '<|pad|>' : eos;
  const added = Object.fromEntries(Object.entries(specialTokenIds(m)).map(([content, id]) => [String(id), {
    content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true,
  }]));
  writeJsonAtomic(join(dir, 'tokenizer_config.json'), {
    tokenizer_class: 'PreTrainedTokenizerFast',
    added_tokens_decoder: added,
    bos_token: eos, eos_token: eos, pad_token: pad, unk_token: null,
    add_bos_token: false, add_eos_token: false, add_prefix_space: false, clean_up_tokenization_spaces: false,
    model_max_length: o.modelMaxLength,
    ...(has('<|user|>') && has('<|assistant|>') && has('<|end|>') ? { chat_template: CHAT_TEMPLATE } : {}),
  });
  return { dir, vocabSize: m.vocabSize, merges: m.merges.length, specialIds: specialTokenIds(m) };
}
