// The verb table: each entry loads its command file lazily, so `lorakit --help` loads no engine.
// Nested verbs (registry add-base, data curate, runs list) are written 'group verb'.
import type { AnyCommand } from '../command.js';

export const commands: Readonly<Record<string, { summary: string; load: () => Promise<AnyCommand> }>> = {
  quickstart: {
    summary: 'Curate → fine-tune → evaluate + gate → register → compare, on the bundled base model',
    load: async () => (await import('./quickstart.js')).quickstart,
  },
  train: { summary: 'Fine-tune a LoRA adapter on a JSONL dataset (PEFT adapter out)', load: async () => (await import('./train.js')).train },
  generate: { summary: 'Generate text from a prompt with a KV cache, streamed', load: async () => (await import('./generate.js')).generateCmd },
  score: { summary: 'Perplexity of a text file (sliding window)', load: async () => (await import('./score.js')).scoreCmd },
  inspect: { summary: 'Show a model folder: architecture, parameters, dtypes, memory', load: async () => (await import('./inspect.js')).inspectCmd },
  merge: { summary: 'Merge a LoRA adapter into its base (plain HF folder out)', load: async () => (await import('./merge.js')).mergeCmd },
  'adapter import': {
    summary: 'Validate a PEFT adapter made elsewhere against a base',
    load: async () => (await import('./adapter-import.js')).adapterImport,
  },
  pretrain: {
    summary: 'Pretrain a small Llama-architecture model from scratch (all parameters)',
    load: async () => (await import('./pretrain.js')).pretrainCmd,
  },
  'tokenizer train': {
    summary: 'Train a byte-level BPE tokenizer (HF tokenizer.json out)',
    load: async () => (await import('./tokenizer-train.js')).tokenizerTrain,
  },
  'data curate': {
    summary: 'Validate, normalise, deduplicate, filter, scrub PII and split raw data into train/eval JSONL',
    load: async () => (await import('./data-curate.js')).dataCurate,
  },
  'registry add-base': {
    summary: 'Register a base model folder by its fingerprint',
    load: async () => (await import('./registry-add-base.js')).registryAddBase,
  },
  'registry add-adapter': {
    summary: 'Register a PEFT adapter folder (or the adapter of a tracked run) as the next version of a name',
    load: async () => (await import('./registry-add-adapter.js')).registryAddAdapter,
  },
  'registry list': {
    summary: 'List adapter versions (or base models with --bases)',
    load: async () => (await import('./registry-list.js')).registryList,
  },
  'registry show': {
    summary: 'Show an adapter version with files, evals and history',
    load: async () => (await import('./registry-show.js')).registryShow,
  },
  'registry alias-set': {
    summary: 'Point an alias at an adapter version (optionally gated on an eval suite)',
    load: async () => (await import('./registry-alias-set.js')).registryAliasSet,
  },
  'registry alias-rm': { summary: 'Remove an alias from an adapter', load: async () => (await import('./registry-alias-rm.js')).registryAliasRm },
  'registry tag': { summary: 'Add or remove a tag on an adapter version', load: async () => (await import('./registry-tag.js')).registryTag },
  'registry stage': { summary: 'Set the stage of an adapter version', load: async () => (await import('./registry-stage.js')).registryStage },
  'registry delete': {
    summary: 'Delete an adapter version (refused while an alias points at it)',
    load: async () => (await import('./registry-delete.js')).registryDelete,
  },
  'registry export': {
    summary: 'Export an adapter version to a PEFT folder',
    load: async () => (await import('./registry-export.js')).registryExport,
  },
  'registry verify': {
    summary: 'Re-hash every stored blob and report corruption',
    load: async () => (await import('./registry-verify.js')).registryVerify,
  },
  'registry migrate': {
    summary: 'Copy a whole registry to another store (e.g. SQLite to PostgreSQL), verifying every blob hash',
    load: async () => (await import('./registry-migrate.js')).registryMigrate,
  },
  'registry gc': { summary: 'Delete unreferenced blobs', load: async () => (await import('./registry-gc.js')).registryGc },
  'registry add-eval': {
    summary: 'Attach an evaluation report to an adapter version',
    load: async () => (await import('./registry-add-eval.js')).registryAddEval,
  },
  'registry check': {
    summary: 'Check that an adapter was trained on a given base',
    load: async () => (await import('./registry-check.js')).registryCheck,
  },
  'runs list': { summary: 'List tracked runs', load: async () => (await import('./runs-list.js')).runsList },
  'runs show': { summary: 'Show one tracked run', load: async () => (await import('./runs-show.js')).runsShow },
  'runs compare': { summary: 'Compare runs side by side, differences marked', load: async () => (await import('./runs-compare.js')).runsCompare },
  eval: {
    summary: 'Evaluate an adapter against its base: domain gain, forgetting, parity, promotion gate',
    load: async () => (await import('./eval.js')).evalCmd,
  },
  serve: {
    summary: 'OpenAI-compatible server: one base, many LoRA adapters per request, batched together',
    load: async () => (await import('./serve.js')).serveCmd,
  },
  'cluster status': {
    summary: 'Readiness, resident adapters and cache hit rates across serve replicas',
    load: async () => (await import('./cluster-status.js')).clusterStatusCmd,
  },
  'deploy haproxy': {
    summary: 'Write an HAProxy 2.6 config with adapter-affinity routing over lorakit serve replicas',
    load: async () => (await import('./deploy-haproxy.js')).deployHaproxy,
  },
  'ui': { summary: 'Serve the dashboard (runs, curves, adapters, lineage)', load: async () => (await import('./ui.js')).ui },
};
