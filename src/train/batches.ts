// Turning samples into model batches: right-padded sequences (or packed ones with segment ids), next-token labels
// where the target mask allows, -100 elsewhere.
import type { Batch } from '../models/causal-lm.js';
import type { Sample } from './data.js';

export interface TrainBatch extends Batch {
  readonly segmentIds?: BigInt64Array;
  /** Number of target tokens (labels != -100). */
  readonly targets: number;
}

export interface Sequence {
  readonly ids: readonly number[];
  readonly target: readonly boolean[];
  readonly segments?: readonly number[];
  readonly positions?: readonly number[];
}

export function toSequences(samples: readonly Sample[]): Sequence[] {
  return samples.map((s) => ({ ids: s.ids, target: s.target }));
}

export function makeTrainBatch(seqs: readonly Sequence[], padId: number, packed: boolean): TrainBatch {
  const B = seqs.length, T = Math.max(...seqs.map((s) => s.ids.length));
  const inputIds = new BigInt64Array(B * T).fill(BigInt(padId)),
    attentionMask = new BigInt64Array(B * T),
    positionIds = new BigInt64Array(B * T),
    labels = new BigInt64Array(B * T).fill(-100n);
  const segmentIds = packed ? new BigInt64Array(B * T).fill(-1n) : undefined;
  let targets = 0;
  seqs.forEach((s, b) => {
    const n = s.ids.length;
    for (let t = 0; t < n; t++) {
      const i = b * T + t;
      inputIds[i] = BigInt(s.ids[t]);
      attentionMask[i] = 1n;
      positionIds[i] = BigInt(s.positions ? s.positions[t] : t);
      if (segmentIds) segmentIds[i] = BigInt(s.segments ? s.segments[t] : 0);
      if (t + 1 < n && s.target[t + 1] && (!s.segments || s.segments[t + 1] === s.segments[t])) { labels[i] = BigInt(s.ids[t + 1]); targets++; }
    }
  });
  return { inputIds, attentionMask, positionIds, labels, segmentIds, batch: B, seq: T, targets };
}
