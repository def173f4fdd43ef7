// Writes a random-weight bf16 Hugging Face Llama folder of real shapes, for the `scale` bench and for anyone who
// wants to reproduce its figures without downloading a model (issue 12 item 6):
//   npx tsx scripts/make-scale-checkpoint.ts llama-3.2-1b /tmp/lk-scale/llama-3.2-1b [--seed N]
// Weights are N(0, 0.02²) like a real init (norms = 1), so activations stay finite. The bf16 bits come straight
// from a xorshift PRNG indexing a 64Ki-entry table of bf16 normal samples (two weights per 32-bit draw), and are
// streamed into ~2 GB shards through one reused buffer: the model is never held in memory. The folder is written
// as '<dir>.partial' and renamed at the end, so an interrupted run never leaves something that looks complete.
// Also writes model.safetensors.index.json, config.json, generation_config.json and a byte-level tokenizer.json
// (ids 0-255 = bytes, specials at Llama 3's 128000+; the ids between decode to nothing).
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { byteLevelTokenizerJson } from '../src/models/bpe/byte-level.js';
import { expectedWeights, normalizeConfig } from '../src/models/config.js';
import { f32ToBf16Bits } from '../src/models/safetensors.js';
import { Rng } from '../src/util/rng.js';

const llama = (o: Record<string, unknown>): Record<string, unknown> => ({
  model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_act: 'silu', rms_norm_eps: 1e-5, rope_theta: 500000,
  num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 128256, bos_token_id: 128000, eos_token_id: 128001,
  attention_bias: false, mlp_bias: false, torch_dtype: 'bfloat16', ...o,
});

/** The shapes of the published configs (weights random). */
export const scalePresets = {
  'llama-3.2-1b': llama({
    hidden_size: 2048, num_hidden_layers: 16, head_dim: 64, intermediate_size: 8192, tie_word_embeddings: true,
    max_position_embeddings: 131072,
    rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  }),
  'llama-3.1-8b': llama({
    hidden_size: 4096, num_hidden_layers: 32, head_dim: 128, intermediate_size: 14336, tie_word_embeddings: false,
    max_position_embeddings: 131072,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  }),
} as const satisfies Record<string, Record<string, unknown>>;
export type ScalePreset = keyof typeof scalePresets;

export interface ScaleCheckpointResult {
  readonly dir: string; readonly bytes: number; readonly parameters: number; readonly seconds: number; readonly shards: number;
}

const SHARD_BYTES = 2e9;
const CHUNK = 8 << 20; // bf16 elements per write (16 MiB): stays in L2/L3-ish and keeps syscalls few

/** xorshift32 draws, two table-looked-up bf16 weights each; the state lives in a local (about 1.5× a closure's). */
function fillPairs(buf: Uint32Array, tab32: Uint32Array, state: number, pairs: number): number {
  let s = state;
  for (let i = 0; i < pairs; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    buf[i] = tab32[s & 0xffff] | (tab32[s >>> 16] << 16);
  }
  return s;
}

export interface ScaleCheckpointOptions {
  readonly seed?: number;
  /** Shard size in bytes (default 2e9). */
  readonly shardBytes?: number;
  /** config.json fields over the preset's (tests shrink the shapes with it). */
  readonly override?: Readonly<Record<string, unknown>>;
}

/** Writes `preset` into `dir` (replacing a stale '<dir>.partial'); `dir` itself must not exist yet. */
export function makeScaleCheckpoint(preset: ScalePreset, dir: string, o: ScaleCheckpointOptions = {}): ScaleCheckpointResult {
  const t0 = performance.now();
  const seed = o.seed ?? 0;
  const raw = { ...scalePresets[preset], ...o.override };
  const cfg = normalizeConfig(raw as never);
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  // 65536 bf16 samples of N(0, 0.02²); a weight is table[16 random bits].
  const rng = new Rng(seed);
  const table = f32ToBf16Bits(Float32Array.from({ length: 65536 }, () => rng.normal() * 0.02));
  const tab32 = Uint32Array.from(table);
  let s = (seed * 2654435761 + 0x9e3779b9) >>> 0 || 1;
  const buf = new Uint32Array(CHUNK / 2);
  const bytes = new Uint8Array(buf.buffer);
  const fillRandom = (pairs: number): void => { s = fillPairs(buf, tab32, s, pairs); };
  // Split the tensors into shards of about SHARD_BYTES, in layer order.
  const tensors = [...expectedWeights(cfg)].map(([name, shape]) => ({ name, shape, n: shape.reduce((a, b) => a * b, 1) }));
  const shards: (typeof tensors)[] = [[]];
  let inShard = 0;
  for (const t of tensors) {
    if (inShard > 0 && inShard + 2 * t.n > (o.shardBytes ?? SHARD_BYTES)) { shards.push([]); inShard = 0; }
    shards[shards.length - 1].push(t);
    inShard += 2 * t.n;
  }
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((list, si) => {
    const file = `model-${String(si + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let off = 0;
    for (const t of list) {
      header[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [off, off + 2 * t.n] };
      off += 2 * t.n;
      weightMap[t.name] = file;
    }
    let json = Buffer.from(JSON.stringify(header), 'utf8');
    if (json.length % 8) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const fd = openSync(join(tmp, file), 'w');
    try {
      writeSync(fd, len);
      writeSync(fd, json);
      for (const t of list) {
        const isNorm = /norm/.test(t.name);
        if (isNorm) buf.fill(0x3f803f80); // 1.0 in bf16, twice
        for (let done = 0; done < t.n; done += CHUNK) {
          const m = Math.min(CHUNK, t.n - done); // m is even: every weight shape here has an even element count
          if (!isNorm) fillRandom(m / 2);
          for (let w = 0; w < 2 * m;) w += writeSync(fd, bytes, w, 2 * m - w);
        }
        total += 2 * t.n;
      }
    } finally {
      closeSync(fd);
    }
  });
  writeFileSync(join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  writeFileSync(join(tmp, 'config.json'), JSON.stringify({ ...raw, lorakit_random_weights: { preset, seed } }, null, 2));
  writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify({ bos_token_id: 128000, eos_token_id: 128001, do_sample: false }, null, 2));
  const tok = byteLevelTokenizerJson([], ['<|begin_of_text|>', '<|end_of_text|>']);
  (tok.added_tokens as { id: number }[]).forEach((t, i) => { t.id = 128000 + i; });
  writeFileSync(join(tmp, 'tokenizer.json'), JSON.stringify(tok));
  writeFileSync(join(tmp, 'tokenizer_config.json'), JSON.stringify({
    bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>', model_max_length: 131072,
    chat_template: "{{ bos_token }}{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + '\\n' }}{% endfor %}"
      + "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
  }));
  renameSync(tmp, dir);
  const parameters = tensors.reduce((a, t) => a + t.n, 0);
  return { dir, bytes: total, parameters, seconds: (performance.now() - t0) / 1000, shards: shards.length };
}

/** `dir` if it holds a finished checkpoint, else writes one there first. */
export function ensureScaleCheckpoint(preset: ScalePreset, dir: string): string {
  if (!existsSync(join(dir, 'model.safetensors.index.json'))) makeScaleCheckpoint(preset, dir);
  return dir;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [preset, dir] = process.argv.slice(2);
  const seedAt = process.argv.indexOf('--seed');
  if (!preset || !dir || !(preset in scalePresets)) {
    console.error(`usage: npx tsx scripts/${basename(process.argv[1])} <${Object.keys(scalePresets).join('|')}> <out-dir> [--seed N]`);
    process.exit(1);
  }
  if (existsSync(dir)) { console.error(`'${dir}' exists; remove it first`); process.exit(1); }
  const r = makeScaleCheckpoint(preset as ScalePreset, dir, { seed: seedAt > 0 ? Number(process.argv[seedAt + 1]) : 0 });
  const gb = r.bytes / 1e9;
  console.log(`${r.dir}: ${(r.parameters / 1e9).toFixed(3)}B parameters, ${gb.toFixed(2)} GB bf16 in ${r.shards} shard(s), `
    + `${r.seconds.toFixed(1)} s (${(gb / r.seconds).toFixed(2)} GB/s)`);
}
