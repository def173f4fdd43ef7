// Public surface of lorakit's data curation (issue 6): `curate()` plus the building blocks tests and other
// layers reuse (readers, validation, normalisation, MinHash, filters, PII, split).
export { curate, curateDefaults } from './pipeline.js';
export { discoverInputs, readRecords, decodeUtf8, type InputFile, type RawItem } from './readers.js';
export { toRecord, checkRoleOrder, parseFieldMap, type Validated } from './validate.js';
export { normalizeText, stripBoilerplate, normalizeRecord, recordContent } from './normalize.js';
export { MinHasher, wordHashes, shingleHashes, estimateJaccard, exactJaccard, lshParams, candidateProbability, fmix32, fnv1a } from './minhash.js';
export { ExactSet, NearDupIndex } from './dedup.js';
export {
  defaultFilters, qualityCheck, heuristicTokenCount, alphaFraction, repeatedNgramFraction, duplicateLineFraction,
  stopwordFraction,
} from './filters.js';
export { scrubText, scrubRecord, luhnValid, shannonEntropy, emptyPiiCounts, piiPlaceholders, type PiiCounts } from './pii.js';
export { assignSplit, splitPoint } from './split.js';
export { renderMarkdown, renderHtml, textBars } from './report.js';
export * from './types.js';
