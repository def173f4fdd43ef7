// `lorakit data curate IN... --out DIR`: validate, normalise, deduplicate, filter, scrub and split raw data
// into train.jsonl / eval.jsonl with rejects, removed records and a report (issue 6). Thin: flags → curate().
import { LorakitError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { finiteNumber, nonNegativeInt, oneOf, positiveInt, unitInterval, existingDir } from '../parse.js';

export interface DataCurateFlags {
  out: string;
  format: 'auto' | 'jsonl' | 'csv' | 'txt';
  txtUnit: 'file' | 'paragraph' | 'line';
  map: string[];
  nearDupThreshold: number;
  shingle: number;
  numPerm: number;
  keepNearDups: boolean;
  minTokens: number;
  maxTokens: number | undefined;
  tokenizer: string | undefined;
  pplModel: string | undefined;
  maxPerplexity: number | undefined;
  maxRepeatedNgrams: number;
  maxDupLines: number;
  minAlpha: number;
  language: 'en' | 'off';
  redactPii: boolean;
  stripBoilerplate: boolean;
  evalFraction: number;
  seed: number;
  overwrite: boolean;
  json: boolean;
}

/** Counts tokens with a model folder's tokenizer.json (loaded lazily, so --help loads nothing). */
async function tokenizerCounter(dir: string): Promise<{ count: (t: string) => number; name: string }> {
  const { loadTokenizer } = await import('../../models/tokenizer.js');
  const tok = await loadTokenizer(dir);
  return { count: (t) => tok.encode(t, { addSpecialTokens: false }).length, name: `tokenizer: ${dir}` };
}

export const dataCurate = defineCommand<DataCurateFlags>({
  name: 'data curate',
  summary: 'Validate, normalise, deduplicate, filter, scrub PII and split raw data into train/eval JSONL with a report',
  positionals: 'IN...',
  example: 'lorakit data curate raw/tickets.csv raw/mails/ --out data/support --map prompt=question,completion=answer --redact-pii',
  flags: {
    out: {
      arg: '<dir>',
      help: 'Output folder: train.jsonl, eval.jsonl, rejects.jsonl, removed.jsonl, report.{json,md,html}',
      required: true,
      short: 'o',
    },
    format: {
      arg: '<fmt>',
      help: 'Input format: auto (by extension), jsonl, csv or txt',
      default: 'auto',
      parse: oneOf(['auto', 'jsonl', 'csv', 'txt'] as const),
    },
    txtUnit: {
      arg: '<unit>',
      help: 'A text file is one record per file, paragraph (blank-line separated) or line',
      default: 'file',
      parse: oneOf(['file', 'paragraph', 'line'] as const),
    },
    map: { arg: '<k=field,...>', help: "Field mapping for other shapes, e.g. 'text=body' or 'prompt=question,completion=answer'", repeatable: true },
    nearDupThreshold: {
      arg: '<j>',
      help: 'Jaccard similarity at or above which records are near-duplicates (1 = off)',
      default: 0.8,
      parse: unitInterval,
    },
    shingle: { arg: '<n>', help: 'Shingle size in words for near-dedup', default: 5, parse: positiveInt },
    numPerm: { arg: '<n>', help: 'MinHash permutations', default: 128, parse: positiveInt },
    keepNearDups: { help: 'Keep near-duplicates (each cluster still goes wholly to train or eval)', default: false },
    minTokens: { arg: '<n>', help: 'Remove records with fewer tokens', default: 3, parse: nonNegativeInt },
    maxTokens: { arg: '<n>', help: 'Remove records with more tokens (default: no limit)', parse: positiveInt },
    tokenizer: {
      arg: '<dir>',
      help: "Count tokens with this model folder's tokenizer.json (default: words+punctuation heuristic)",
      parse: existingDir,
    },
    pplModel: { arg: '<dir>', help: 'Reference model folder for the perplexity filter (with --max-perplexity)', parse: existingDir },
    maxPerplexity: { arg: '<x>', help: 'Remove records whose perplexity under --ppl-model is above this', parse: finiteNumber },
    maxRepeatedNgrams: { arg: '<f>', help: 'Max fraction of repeated word 3-grams (1 = off)', default: 0.3, parse: unitInterval },
    maxDupLines: { arg: '<f>', help: 'Max fraction of duplicate lines (1 = off)', default: 0.3, parse: unitInterval },
    minAlpha: { arg: '<f>', help: 'Min fraction of letters among non-space characters (0 = off)', default: 0.5, parse: unitInterval },
    language: {
      arg: '<lang>',
      help: "Expected language: 'en' (English stop-word ratio) or 'off'",
      default: 'en',
      parse: oneOf(['en', 'off'] as const),
    },
    redactPii: { help: 'Replace e-mails, phones, card numbers, IPs and secrets with <EMAIL>, <PHONE>, …', default: false },
    stripBoilerplate: { help: 'Strip e-mail headers, quoted replies, signatures and list footers', default: false },
    evalFraction: { arg: '<f>', help: 'Fraction of clusters that go to eval.jsonl', default: 0.1, parse: unitInterval },
    seed: {
      arg: '<n>',
      help: 'Seed of the train/eval split',
      default: 0,
      parse: (raw, flag) => {
        const n = finiteNumber(raw, flag);
        if (!Number.isInteger(n)) throw new LorakitError('LK_ARG', `'${flag}' must be an integer, got '${raw}'`);
        return n;
      },
    },
    overwrite: { help: 'Replace a non-empty --out folder that curate did not write (never an input)', default: false },
    json: { help: 'Print the report summary as JSON (progress as JSON lines on stderr)', default: false },
  },
  async run(flags, io, positionals) {
    if (positionals.length === 0) throw new LorakitError('LK_ARG', 'data curate: no inputs given', { hint: 'lorakit data curate IN... --out DIR' });
    const { curate, parseFieldMap, textBars } = await import('../../data/index.js');
    let fieldMap: Record<string, string>;
    try {
      fieldMap = parseFieldMap(flags.map);
    } catch (e) {
      throw new LorakitError('LK_ARG', `'--map': ${(e as Error).message}`);
    }
    const counter = flags.tokenizer ? await tokenizerCounter(flags.tokenizer) : null;
    if ((flags.pplModel === undefined) !== (flags.maxPerplexity === undefined))
      throw new LorakitError('LK_ARG', "the perplexity filter needs both '--ppl-model DIR' and '--max-perplexity X'");
    let perplexity: ((text: string) => Promise<number>) | undefined;
    if (flags.pplModel) {
      const { loadCheckpoint } = await import('../../models/checkpoint.js');
      const { CausalLM } = await import('../../models/causal-lm.js');
      const ppl = await import('../../models/perplexity.js');
      const ref = await loadCheckpoint(flags.pplModel, { tokenizer: true });
      if (!ref.tokenizer) throw new LorakitError('LK_TOKENIZER', `'--ppl-model ${flags.pplModel}' has no tokenizer.json`);
      const lm = new CausalLM(ref.config, ref.weights, ref.shapes);
      const window = Math.min(512, ref.config.maxPositionEmbeddings);
      perplexity = async (text) => (await ppl.perplexity(lm, ref.tokenizer!.encode(text), { window, stride: window / 2 })).perplexity;
    }
    let bar: { phase: string; progress: ReturnType<typeof io.progress>; records: number } | null = null;
    const report = await curate({
      inputs: positionals, outDir: flags.out, format: flags.format, txtUnit: flags.txtUnit, fieldMap,
      nearDupThreshold: flags.nearDupThreshold, shingle: flags.shingle, numPerm: flags.numPerm, removeNearDups: !flags.keepNearDups,
      minTokens: flags.minTokens, maxTokens: flags.maxTokens, maxRepeatedNgramFrac: flags.maxRepeatedNgrams, maxDupLineFrac: flags.maxDupLines,
      minAlphaFrac: flags.minAlpha, language: flags.language, redactPii: flags.redactPii, stripBoilerplate: flags.stripBoilerplate,
      evalFraction: flags.evalFraction, seed: flags.seed, overwrite: flags.overwrite,
      ...(perplexity ? { perplexity, maxPerplexity: flags.maxPerplexity } : {}),
      ...(counter ? { tokenCounter: counter.count, tokenCounterName: counter.name } : {}),
      onProgress: (p) => { // one bar per phase; a phase's bar is finished when the next one starts
        if (bar?.phase !== p.phase) {
          bar?.progress.finish({ records: bar.records });
          bar = {
            phase: p.phase,
            records: 0,
            progress: io.progress({
              total: p.total,
              label: p.phase === 'read' ? 'reading' : p.phase,
              unit: p.phase === 'read' ? 'B' : p.phase === 'near-dup' ? 'bands' : 'records',
            }),
          };
        }
        bar.records = p.records;
        if (p.done > 0) bar.progress.tick(p.done, { records: p.records });
      },
    });
    const last = bar as { progress: ReturnType<typeof io.progress>; records: number } | null;
    last?.progress.finish({ records: last.records });
    const c = report.counts;
    const { examples: _e, inputs: _i, lengths: _l, ...summary } = report;
    io.log(textBars(report.lengths.kept));
    io.done({ ...summary, files: report.inputs.length },
      `${c.input} records → ${c.kept} kept (${c.train} train, ${c.eval} eval), ${c.rejected} rejected, ${c.removed} filtered, ` +
      `${c.exactDuplicates} exact + ${c.nearDuplicates} near duplicates; ${Math.round(report.timings.recordsPerSecond)} records/s. ` +
      `Report: ${report.outputs.reportHtml}`);
  },
});
