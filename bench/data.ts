// Data curation throughput (issue 6): the whole `curate()` pipeline on 100k synthetic ~1 KB records
// (seeded generator, 5% exact and 5% near duplicates injected), plus the near-dedup stage on its own.
// Goal: >= 5,000 records/s on 2 cores.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curate, MinHasher, shingleHashes, wordHashes } from '../src/data/index.js';
import { Rng } from '../src/util/rng.js';
import type { BenchArea } from './types.js';
import { interleave, median, medianOf, rounds } from './stats.js';

const WORDS = ('the of and to a in is it that for on was with as be at by this are not or have from but they his her he she ' +
  'we an had which were time year people way day man thing woman life child world school state family student ' +
  'group country problem hand part place case week company system program question work government number night ' +
  'point home water room mother area money story fact month lot right study book eye job word business issue ' +
  'side kind head house service friend father power hour game line end member law car city community name ' +
  'president team minute idea kid body information back parent face others level office door health person art ' +
  'war history party result change morning reason research girl guy').split(' ');

/** ~1 KB of English-like text: sentences of 8-20 words. */
function doc(rng: Rng): string {
  const out: string[] = [];
  let len = 0;
  while (len < 1000) {
    const n = 8 + rng.int(13);
    const s: string[] = [];
    for (let i = 0; i < n; i++) s.push(WORDS[rng.int(WORDS.length)]);
    const sentence = s.join(' ');
    out.push(sentence[0].toUpperCase() + sentence.slice(1) + '.');
    len += sentence.length + 2;
  }
  return out.join(' ');
}

function makeData(file: string, n: number, seed: number): { exact: number; near: number } {
  const rng = new Rng(seed);
  const pool: { text: string; line: string }[] = []; // recent originals that copies are drawn from
  const lines: string[] = [];
  let exact = 0, near = 0;
  const format = (i: number, text: string): string => {
    if (i % 3 === 0) return JSON.stringify({ text });
    if (i % 3 === 1) return JSON.stringify({ prompt: text.slice(0, 200), completion: text.slice(200) });
    return JSON.stringify({ messages: [{ role: 'user', content: text.slice(0, 200) }, { role: 'assistant', content: text.slice(200) }] });
  };
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.05 && pool.length > 0) { lines.push(pool[rng.int(pool.length)].line); exact++; continue; }
    if (r < 0.1 && pool.length > 0) {
      const w = pool[rng.int(pool.length)].text.split(' ');
      w[20 + rng.int(w.length - 40)] = 'changed'; // one word: Jaccard ≈ 0.95 with 5-word shingles
      lines.push(format(i, w.join(' ')));
      near++;
      continue;
    }
    const text = doc(rng);
    const line = format(i, text);
    lines.push(line);
    if (pool.length < 5000) pool.push({ text, line }); else pool[rng.int(5000)] = { text, line };
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return { exact, near };
}

export const bench: BenchArea = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-bench-data-'));
  try {
    const n = Number(process.env.LK_BENCH_DATA_N ?? 100_000);
    const file = join(dir, 'in.jsonl');
    const injected = makeData(file, n, 42);
    const R = rounds();
    const pipelines = [
      ['full pipeline', {}],
      ['full pipeline + --redact-pii --strip-boilerplate', { redactPii: true, stripBoilerplate: true }],
    ] as const;
    // the two pipelines alternate for R rounds; each figure is the median over rounds
    const runs = await interleave(R, pipelines.map(([, opts]) => async () => {
      const r = await curate({ inputs: [file], outDir: join(dir, 'out'), ...opts });
      return { r, heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss };
    }));
    const rows = runs.map((rs, i) => {
      const { r } = rs[0];
      return {
        pipeline: pipelines[i][0], records: r.counts.input, 'records/s': Math.round(medianOf(rs, (x) => x.r.timings.recordsPerSecond)!),
        'total s': medianOf(rs, (x) => x.r.timings.totalSeconds), 'pass 1 s': medianOf(rs, (x) => x.r.timings.readSeconds),
        'near-dup s': medianOf(rs, (x) => x.r.nearDup.seconds), 'pass 2 s': medianOf(rs, (x) => x.r.timings.writeSeconds),
        'exact dups (injected)': `${r.counts.exactDuplicates} (${injected.exact})`,
        'near dups (injected)': `${r.counts.nearDuplicates} (${injected.near})`,
        'heap MB': Math.round(Math.max(...rs.map((x) => x.heap)) / 1e6), 'rss MB': Math.round(Math.max(...rs.map((x) => x.rss)) / 1e6),
      };
    });
    // near-dedup cost inside pass 1: word hashing + 5-word shingles + 128-permutation MinHash per record
    const rng = new Rng(9);
    const docs = Array.from({ length: 20_000 }, () => doc(rng));
    const mh = new MinHasher(128, 1);
    const sig = await interleave(R, [async () => {
      const t0 = performance.now();
      for (const d of docs) mh.signature(shingleHashes(wordHashes(d), 5));
      return (performance.now() - t0) / 1000;
    }]);
    const sigSeconds = median(sig[0]);
    return [{
      title: `data curate: ${n} synthetic ~1 KB records (JSONL, text/prompt/messages mixed); median of ${R} interleaved rounds`,
      rows,
      notes: [
        'heap/rss MB: the largest after any round.',
        'Single-threaded pipeline; the goal is >= 5,000 records/s on 2 cores. near-dup s = LSH bucketing + verification + union-find after pass 1.',
        'Injected counts can differ by one or two: two near copies of the same source with the same changed word and format are exact duplicates.',
      ],
    }, {
      title: `near-dedup signatures (inside pass 1); median of ${R} rounds`,
      rows: [
        {
          stage: 'words + 5-word shingles + MinHash 128 perms',
          records: docs.length,
          'records/s': Math.round(docs.length / sigSeconds),
          'µs/record': (sigSeconds / docs.length) * 1e6,
        },
      ],
    }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
