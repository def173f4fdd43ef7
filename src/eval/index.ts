// Evaluation: suites of perplexity, generation and multiple-choice tasks tagged domain/general, base vs adapter
// with paired bootstrap intervals, train/serve parity, and the promotion gate (issue 8).
export { evaluate } from './evaluate.js';
export type { EvalProgress, EvaluateOptions, EvaluateResult, ParityContext } from './evaluate.js';
export { loadSuite, parseSuite, DEFAULT_PROBES, gateDefaults, parityDefaults } from './suite.js';
export { bundledSuites } from './suites/index.js';
export { isBrownHeldOut, isSotuHeldOut, brownHeldOutIds, brownCloze, loadTexts, loadGenerationItems, loadChoiceItems } from './sources.js';
export type { ChoiceItem, GenerationItem } from './sources.js';
export { scoreTexts, scoreChoices, runGeneration, matchAnswer } from './scoring.js';
export { summarize, percentileInterval } from './stats.js';
export type { TaskData, ItemValues } from './stats.js';
export { decideGate } from './gate.js';
export { runParity, trainingPath, decodePath, mergedPath, prefillLogits } from './parity.js';
export type { ParityPath, ParityOutput, MissingPath } from './parity.js';
export { renderMarkdown } from './markdown.js';
export { writeEvalReport, stableReport } from './write.js';
export type * from './types.js';
