// Whole quantized models against an independent float64 forward (test/helpers/causal-lm-f64.ts) over the same packed
// weights, dequantized by dequantizeRows. The reference is first checked against PyTorch (the golden fixtures) and
// against the float32 model, so that a match of the quantized graphs with it means something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { causalLmF64 } from '../helpers/causal-lm-f64.js';
import { modelDir, readGolden } from './fixture-models.js';
import { type Checkpoint, loadCheckpoint } from '../../src/models/checkpoint.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { openSafetensors } from '../../src/models/safetensors.js';
import { type QuantizedTensor, dequantizeRows } from '../../src/models/quant/quantize.js';
import type { QuantOptions } from '../../src/models/quant/scheme.js';

const tiny = writeTinyModel(join(mkdtempSync(join(tmpdir(), 'lk-quant-f64-')), 'model'), { hidden: 64, layers: 2, seed: 11 });
const SEQS = [[257, 72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100], [257, 84, 104, 101, 32, 101, 110, 100]];

/** The float weights plus every quantized tensor dequantized, all as float64. */
function weightsF64(ck: Checkpoint): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, w] of ck.weights) out.set(name, Float64Array.from(w));
  for (const [name, t] of ck.quant?.tensors ?? []) {
    // A loaded base keeps its packed bytes in files and reads them on each property access: read each array once.
    const held: QuantizedTensor = {
      n: t.n,
      k: t.k,
      bits: t.bits,
      blockSize: t.blockSize,
      packed: t.packed,
      scales: t.scales,
      zeroPoints: t.zeroPoints,
    };
    out.set(name, dequantizeRows(held));
  }
  return out;
}

/** max |got − want| over each sequence's own positions, and max |want|; `got` is (B, T, V) right-padded. */
function compare(
  got: ArrayLike<number>,
  want: readonly Float64Array[],
  seqs: readonly (readonly number[])[],
  V: number,
): { err: number; max: number } {
  const T = Math.max(...seqs.map((s) => s.length));
  let err = 0, max = 0;
  seqs.forEach((s, b) => {
    for (let i = 0; i < s.length * V; i++) {
      err = Math.max(err, Math.abs(got[b * T * V + i] - want[b][i]));
      max = Math.max(max, Math.abs(want[b][i]));
    }
  });
  return { err, max };
}

async function quantizedVsReference(
  dir: string,
  quantize: QuantOptions,
  seqs: readonly (readonly number[])[],
  padId: number,
): Promise<{ err: number; max: number }> {
  const ck = await loadCheckpoint(dir, { quantize, tokenizer: false });
  assert.ok(ck.quant && ck.quant.tensors.size > 0);
  const ref = weightsF64(ck);
  const got = await new CausalLM(ck.config, ck.weights, ck.shapes, { quant: ck.quant }).score(seqs, { logits: true, padId });
  return compare(got.logits!, seqs.map((s) => causalLmF64(ck.config, ref, s)), seqs, ck.config.vocabSize);
}

const LLAMA_FIXTURES = ['llama-gqa-f32', 'llama-tied-bf16', 'qwen2-bias-f32', 'mistral-f32', 'llama-bias-f32'];

test('the float64 reference equals PyTorch on every llama-family golden fixture (1e-5 of max(1, max |logit|))', async (t) => {
  for (const name of LLAMA_FIXTURES) {
    const dir = modelDir(name), golden = readGolden(name);
    const ck = await loadCheckpoint(dir, { tokenizer: false });
    const seqs = golden.batch.input_ids.map((ids, b) => ids.filter((_, i) => golden.batch.attention_mask[b][i] === 1));
    const g = openSafetensors(join(dir, 'golden.safetensors'));
    const want = g.readFloat32('logits');
    g.close();
    const w = weightsF64(ck);
    const { err, max } = compare(want, seqs.map((s) => causalLmF64(ck.config, w, s)), seqs, ck.config.vocabSize);
    t.diagnostic(`${name}: max error ${err.toExponential(2)}, max |logit| ${max.toFixed(3)}`);
    assert.ok(err <= 1e-5 * Math.max(1, max), `${name}: the reference differs from PyTorch by ${err} (max |logit| ${max})`);
  }
});

test('the float32 model over the plain tiny model equals the float64 reference (1e-5 of max |logit|)', async (t) => {
  const ck = await loadCheckpoint(tiny, { tokenizer: false });
  const got = await new CausalLM(ck.config, ck.weights, ck.shapes).score(SEQS, { logits: true, padId: 258 });
  const w = weightsF64(ck);
  const { err, max } = compare(got.logits!, SEQS.map((s) => causalLmF64(ck.config, w, s)), SEQS, ck.config.vocabSize);
  t.diagnostic(`float32: max error ${err.toExponential(2)}, max |logit| ${max.toFixed(3)}`);
  assert.ok(err <= 1e-5 * max, `float32 logits differ from the float64 reference by ${err} (max |logit| ${max})`);
});

// Tolerances, measured on this tiny model: accuracy float is float32 arithmetic against float64 (≤ 6e-7 of max |logit|);
// accuracy int8 quantizes activations to int8 per block (≤ 1.5%). A dequantization with the zero point off by one
// moves the logits by ≥ 8% (int8) and > 100% (int4); swapped nibbles of weights or zero points by > 100%.
test('a whole quantized tiny model equals the float64 reference over its dequantized weights (accuracy float: 1e-5 of max |logit|; int8: 3e-2)',
  async (t) => {
  for (const quantize of ['int8', 'int4'] as const) {
    for (const zeroPoint of [false, true]) {
      for (const accuracy of ['float', 'int8'] as const) {
        const { err, max } = await quantizedVsReference(tiny, { quantize, zeroPoint, accuracy, block: 16 }, SEQS, 258);
        const label = `${quantize} ${zeroPoint ? 'zp' : 'sym'} accuracy ${accuracy}`, tol = (accuracy === 'float' ? 1e-5 : 3e-2) * max;
        t.diagnostic(`${label}: max error ${err.toExponential(2)} = ${(err / max).toExponential(2)} of max |logit| ${max.toFixed(3)}`);
        assert.ok(err <= tol, `${label}: logits differ from the float64 reference by ${err} (tolerance ${tol.toExponential(2)})`);
      }
    }
  }
});

test('quantized with biases, an odd number of blocks per row, a tied LM head and llama3 RoPE: equals the float64 reference (1e-5 of max |logit|)',
  async (t) => {
  // llama-bias-f32: q/k/v/o and MLP biases, intermediate 96 = 3 blocks of 32 (int4 zero points half-fill a byte);
  // llama-tied-bf16: the quantized embedding is also the LM head.
  for (const name of ['llama-bias-f32', 'llama-tied-bf16']) {
    const golden = readGolden(name);
    const seqs = golden.batch.input_ids.map((ids, b) => ids.filter((_, i) => golden.batch.attention_mask[b][i] === 1));
    const { err, max } = await quantizedVsReference(
      modelDir(name),
      { quantize: 'int4', zeroPoint: true, accuracy: 'float', block: 32 },
      seqs,
      golden.batch.pad_token_id,
    );
    t.diagnostic(`${name} int4 zp block 32: max error ${err.toExponential(2)} = ${(err / max).toExponential(2)} of max |logit| ${max.toFixed(3)}`);
    assert.ok(err <= 1e-5 * max, `${name}: logits differ from the float64 reference by ${err} (max |logit| ${max})`);
  }
});
