// Test helpers: tiny model and adapter folders written on the fly (a minimal safetensors writer, so these
// tests do not depend on src/models/safetensors.ts), and a fresh LORAKIT_HOME per test.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tmp(prefix = 'lk-'): string { return mkdtempSync(join(tmpdir(), prefix)); }

export interface TinyTensor { readonly name: string; readonly shape: readonly number[]; readonly data: Float32Array }

/** Writes a safetensors file: 8-byte LE header length, JSON header (padded to 8), then F32 data. */
export function writeSafetensors(path: string, tensors: readonly TinyTensor[]): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(
    path,
    Buffer.concat([
      len,
      Buffer.from(json),
      ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
    ]),
  );
}

/** Deterministic pseudo-random floats. */
export function floats(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; a[i] = ((s >>> 0) / 2 ** 32) - 0.5; }
  return a;
}

export interface TinyBaseOptions {
  readonly seed?: number;
  readonly hidden?: number;
  readonly chatTemplate?: string;
  readonly eos?: number | number[];
  readonly extraConfig?: Record<string, unknown>;
}

/** A 2-layer "llama" folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json. */
export function makeBase(dir: string, o: TinyBaseOptions = {}): string {
  const h = o.hidden ?? 8, seed = o.seed ?? 1;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'),
    JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: h, num_hidden_layers: 2,
    num_attention_heads: 2, intermediate_size: 2 * h, vocab_size: 16, eos_token_id: 2, _name_or_path: dir, transformers_version: '4.44.0',
    torch_dtype: 'float32', ...o.extraConfig },
      null, 2));
  const tensors: TinyTensor[] = [{ name: 'model.embed_tokens.weight', shape: [16, h], data: floats(16 * h, seed) }];
  for (let l = 0; l < 2; l++) {
    for (const p of ['q_proj', 'v_proj'])
      tensors.push({
        name: `model.layers.${l}.self_attn.${p}.weight`,
        shape: [h, h],
        data: floats(h * h, seed * 31 + l * 7 + p.length),
      });
  }
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: { a: 0, b: 1, '</s>': 2 }, merges: [] } }),
  );
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ chat_template: o.chatTemplate ?? '{% for m in messages %}{{ m.content }}{% endfor %}' }),
  );
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: o.eos ?? 2 }));
  return dir;
}

export interface TinyAdapterOptions {
  readonly seed?: number;
  readonly baseFingerprint?: string;
  readonly datasetFingerprint?: string;
  readonly runId?: string;
  readonly metrics?: Record<string, number>;
  /** lorakit.json's base_quantization (any JSON value, to test refusals); absent when not given. */
  readonly baseQuantization?: unknown;
  /** Extra bytes of weights (to make big adapters for the bench). */
  readonly bigFloats?: number;
  readonly r?: number;
}

/** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors), with lorakit.json when a base is given. */
export function makeAdapter(dir: string, o: TinyAdapterOptions = {}): string {
  const r = o.r ?? 2, h = 8, seed = o.seed ?? 1;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_config.json'),
    JSON.stringify({ peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: '/somewhere/base', r, lora_alpha: 2 * r,
    lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], bias: 'none', fan_in_fan_out: false, use_rslora: false, use_dora: false,
    inference_mode: true },
      null, 2));
  const tensors: TinyTensor[] = [];
  for (let l = 0; l < 2; l++) for (const p of ['q_proj', 'v_proj']) {
    const pre = `base_model.model.model.layers.${l}.self_attn.${p}`;
    tensors.push({ name: `${pre}.lora_A.weight`, shape: [r, h], data: floats(r * h, seed * 101 + l + p.length) });
    tensors.push({ name: `${pre}.lora_B.weight`, shape: [h, r], data: floats(h * r, seed * 103 + l + p.length) });
  }
  if (o.bigFloats) tensors.push({ name: 'base_model.model.lm_head.lora_A.weight', shape: [o.bigFloats], data: floats(o.bigFloats, seed * 7) });
  writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
  if (o.baseFingerprint) {
    writeFileSync(join(dir, 'lorakit.json'),
      JSON.stringify({ base_fingerprint: o.baseFingerprint, dataset_fingerprint: o.datasetFingerprint ?? 'd'.repeat(64),
      run_id: o.runId, config: { lr: 1e-3, r }, metrics: o.metrics ?? { eval_loss: 1.5 },
      ...(o.baseQuantization === undefined ? {} : { base_quantization: o.baseQuantization }) }, null, 2));
  }
  return dir;
}
