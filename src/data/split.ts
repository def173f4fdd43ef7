// Deterministic train/eval assignment. A record goes by the content hash of its near-duplicate cluster's
// representative, mixed with the seed, so a whole cluster lands on one side, the result does not depend on
// input order or on other records, and a new seed gives an independent split.
import { fmix32 } from './minhash.js';

/** Uniform in [0, 1) from a 32-bit key and a seed. */
export function splitPoint(key: number, seed: number): number {
  return fmix32(fmix32(key ^ 0x6a09e667) ^ fmix32((seed >>> 0) + 0x9e3779b9)) / 4294967296;
}

export function assignSplit(clusterKey: number, seed: number, evalFraction: number): 'train' | 'eval' {
  return splitPoint(clusterKey, seed) < evalFraction ? 'eval' : 'train';
}
