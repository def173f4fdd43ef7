// A small model trained for real through grad() + AdamW: a character-level MLP language model (Bengio et al. 2003:
// 3 previous characters → embedding → tanh hidden layer → next character) on Brown corpus text.
// The loss must fall clearly, and two runs with the same seed must give bit-identical losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { adamwStep, createAdamWState, defaultAdamW } from '../../src/train/adamw.js';
import { readBrown } from '../../src/data/corpora/brown.js';
import { Rng } from '../../src/util/rng.js';

const CTX = 3, EMB = 16, HID = 64, BATCH = 256;

async function trainCharMlp(seed: number, steps: number): Promise<{ losses: number[]; heldOut: [number, number] }> {
  const text = readBrown({ limit: 8 }).map((d) => d.text).join('\n');
  const chars = [...new Set(text)].sort();
  const V = chars.length;
  const ids = Int32Array.from(text, (c) => chars.indexOf(c));
  const split = Math.floor(ids.length * 0.9);

  const g = new E.Graph('char_mlp');
  const ctx = g.input('ctx', 'int64', [BATCH, CTX]);
  const target = g.input('target', 'int64', [BATCH]);
  const emb = g.input('emb', 'float32', [V, EMB]);
  const w1 = g.input('w1', 'float32', [CTX * EMB, HID]);
  const b1 = g.input('b1', 'float32', [HID]);
  const w2 = g.input('w2', 'float32', [HID, V]);
  const b2 = g.input('b2', 'float32', [V]);
  const x = E.reshape(E.embedding(emb, ctx), [BATCH, CTX * EMB]); // (N, 3·EMB)
  const h = E.tanh(E.add(E.matmul(x, w1), b1)); // (N, HID)
  const logits = E.add(E.matmul(h, w2), b2); // (N, V)
  const { loss } = E.crossEntropy(logits, target);
  const params = [emb, w1, b1, w2, b2];
  const grads = E.grad(loss, params);
  g.output('loss', loss);
  grads.forEach((d, i) => g.output(`grad_${i}`, d));
  const session = await E.compile(g, { threads: 2 });

  const rng = new Rng(seed);
  const init = (n: number, std: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * std);
  const values = [
    init(V * EMB, 1), init(CTX * EMB * HID, 1 / Math.sqrt(CTX * EMB)), new Float32Array(HID),
    init(HID * V, 1 / Math.sqrt(HID)), new Float32Array(V),
  ];
  const gradBufs = values.map((v) => new Float32Array(v.length));
  const state = createAdamWState(values);
  const ctxBuf = new BigInt64Array(BATCH * CTX), tgtBuf = new BigInt64Array(BATCH);
  const fill = (lo: number, hi: number): void => {
    for (let b = 0; b < BATCH; b++) {
      const p = lo + CTX + rng.int(hi - lo - CTX);
      for (let j = 0; j < CTX; j++) ctxBuf[b * CTX + j] = BigInt(ids[p - CTX + j]);
      tgtBuf[b] = BigInt(ids[p]);
    }
  };
  const feeds = (): Record<string, E.TensorValue> => ({
    ctx: { data: ctxBuf, dims: [BATCH, CTX] }, target: { data: tgtBuf, dims: [BATCH] },
    emb: { data: values[0], dims: [V, EMB] }, w1: { data: values[1], dims: [CTX * EMB, HID] }, b1: { data: values[2], dims: [HID] },
    w2: { data: values[3], dims: [HID, V] }, b2: { data: values[4], dims: [V] },
  });
  const evalHeldOut = async (): Promise<number> => {
    const evalRng = new Rng(999);
    let s = 0;
    for (let k = 0; k < 4; k++) {
      for (let b = 0; b < BATCH; b++) {
        const p = split + CTX + evalRng.int(ids.length - split - CTX);
        for (let j = 0; j < CTX; j++) ctxBuf[b * CTX + j] = BigInt(ids[p - CTX + j]);
        tgtBuf[b] = BigInt(ids[p]);
      }
      s += (await session.run(feeds())).loss.data[0] as number;
    }
    return s / 4;
  };
  const before = await evalHeldOut();
  const losses: number[] = [];
  const into = Object.fromEntries(gradBufs.map((b, i) => [`grad_${i}`, b]));
  for (let step = 0; step < steps; step++) {
    fill(0, split);
    const r = await session.run(feeds(), into); // gradients land in gradBufs (preallocated outputs)
    losses.push(r.loss.data[0] as number);
    adamwStep(values, gradBufs, state, { ...defaultAdamW, lr: 1e-2 }, 1e-2);
  }
  return { losses, heldOut: [before, await evalHeldOut()] };
}

test('a char-level MLP trained with grad + AdamW on Brown text: held-out loss falls; same seed, same losses', async () => {
  const a = await trainCharMlp(7, 120);
  const [before, after] = a.heldOut;
  if (process.env.LK_VERBOSE) console.log('held-out loss', before, '→', after);
  assert.ok(before > 3.5, `initial held-out loss ${before} should be near ln(vocab)`);
  assert.ok(after < before - 1.0, `held-out loss should fall by > 1 nat: ${before.toFixed(3)} → ${after.toFixed(3)}`);
  const b = await trainCharMlp(7, 120);
  assert.deepEqual(b.losses, a.losses, 'two runs with the same seed must give identical losses');
  const c = await trainCharMlp(8, 5);
  assert.notDeepEqual(c.losses, a.losses.slice(0, 5), 'a different seed gives a different run');
});
