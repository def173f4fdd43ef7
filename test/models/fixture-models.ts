// Paths and readers for the committed golden fixtures (made by scripts/fixtures/make_fixtures.py).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { ErrorCode } from '../../src/errors.js';
import { isLorakitError } from '../../src/errors.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
export const MODELS = ['llama-gqa-f32', 'llama-tied-bf16', 'qwen2-bias-f32', 'mistral-f32', 'llama-bias-f32', 'gpt2-f32'] as const;
export const modelDir = (name: string): string => join(FIXTURES, name);

export interface GoldenJson {
  model: string;
  dtype_on_disk: string;
  tolerances: Record<string, { rtol: number } | string>;
  batch: {
    texts: string[];
    input_ids: number[][];
    attention_mask: number[][];
    labels: number[][];
    loss: number;
    tokens_in_loss: number;
    pad_token_id: number;
  };
  greedy: { new_tokens: number; runs: { prompt_ids: number[]; new_ids: number[]; top1_minus_top2: number[] }[] };
  tokenizer: { text: string; tokens: string[]; ids: number[]; ids_with_special: number[]; decoded: string }[];
  special_tokens: { bos: string | null; eos: string; pad: string | null; eos_token_ids_merged: number[]; vocab_size: number };
  chat_template: { source: string; renders: { messages: { role: string; content: string }[]; add_generation_prompt: boolean; rendered: string }[] };
  lora?: { r: number; lora_alpha: number; scaling: number; target_modules: string[]; fan_in_fan_out: boolean; loss: number; keys: string[] };
}

export const readGolden = (name: string): GoldenJson => JSON.parse(readFileSync(join(modelDir(name), 'golden.json'), 'utf8')) as GoldenJson;

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'lorakit-models-'));

/** Runs `fn`, expects a LorakitError with `code` whose message contains every string in `mentions`. */
export async function expectError(fn: () => unknown, code: ErrorCode, mentions: readonly string[]): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.ok(isLorakitError(e, code), `expected ${code}, got ${(e as { code?: string }).code ?? ''}: ${(e as Error).message}`);
    for (const m of mentions) assert.ok(e.message.includes(m), `message should mention '${m}':\n${e.message}`);
    return;
  }
  assert.fail(`expected ${code}, but nothing was thrown`);
}
