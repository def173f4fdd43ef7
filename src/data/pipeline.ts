// `curate()`: the whole curation pipeline in two passes with bounded memory.
//   pass 1 (streams the inputs): read → validate → normalise (+ boilerplate) → exact dedup (sha256 prefix) →
//           token count → quality filters → perplexity → MinHash signature; survivors are spooled to a temp JSONL.
//   near-dup: LSH bucketing over the stored signatures, union-find clusters (first seen = representative).
//   pass 2 (streams the spool): drop near-duplicates, count/redact PII, split by cluster → train / eval.
// Each input record lands in exactly one of kept / rejected / removed / exact dup / near dup; the report checks it.
// All outputs are written to a temp folder beside --out and renamed at the end (a crash leaves no half file), under
// the --out rule of util/out-dir.ts: never over a file, an input or a folder curate did not write (unless overwrite).
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { LorakitError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { readLines } from '../util/jsonl.js';
import { beginOutDir } from '../util/out-dir.js';
import { ExactSet, NearDupIndex, type NearDupStats } from './dedup.js';
import { defaultFilters, heuristicTokenCount, qualityCheck } from './filters.js';
import { MinHasher, lshParams, shingleHashes, wordHashes } from './minhash.js';
import { hasEmptyField, normalizeRecord, recordContent } from './normalize.js';
import { emptyPiiCounts, scrubRecord } from './pii.js';
import { discoverInputs, readRecords } from './readers.js';
import { LogHistogram, renderHtml, renderMarkdown } from './report.js';
import { AtomicJsonlSink } from './sink.js';
import { assignSplit } from './split.js';
import {
  type CurateOptions, type CurationReport, type FilterName, MAX_RECORD_BYTES, type RejectReason, type ReportExample, type TrainRecord,
} from './types.js';
import { toRecord } from './validate.js';

/** A growable Uint32Array. */
class U32Vec {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) { const d = new Uint32Array(this.length * 2); d.set(this.data); this.data = d; }
    this.data[this.length++] = v;
  }
}

function check(ok: boolean, field: string, expected: string, got: unknown): void {
  if (!ok) throw new LorakitError('LK_ARG', `'${field}' must be ${expected}, got ${JSON.stringify(got)}`, { details: { field, got } });
}

export const curateDefaults = {
  format: 'auto', txtUnit: 'file', stripBoilerplate: false, redactPii: false, nearDupThreshold: 0.8, shingle: 5, numPerm: 128,
  removeNearDups: true, evalFraction: 0.1, seed: 0, maxRecordBytes: MAX_RECORD_BYTES, examplesPerReason: 3,
} as const;

function resolveOptions(o: CurateOptions) {
  const r = { ...curateDefaults, ...defaultFilters, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as
    typeof curateDefaults & typeof defaultFilters & CurateOptions & { format: CurateOptions['format'] & string };
  check(r.nearDupThreshold > 0 && r.nearDupThreshold <= 1, 'nearDupThreshold', 'in (0, 1]', r.nearDupThreshold);
  check(Number.isInteger(r.shingle) && r.shingle >= 1 && r.shingle <= 64, 'shingle', 'an integer in [1, 64]', r.shingle);
  check(Number.isInteger(r.numPerm) && r.numPerm >= 8 && r.numPerm <= 1024, 'numPerm', 'an integer in [8, 1024]', r.numPerm);
  check(r.evalFraction >= 0 && r.evalFraction < 1, 'evalFraction', 'in [0, 1)', r.evalFraction);
  check(Number.isInteger(r.seed), 'seed', 'an integer', r.seed);
  check(r.minTokens >= 0 && r.maxTokens >= r.minTokens, 'maxTokens', `>= minTokens (${r.minTokens})`, r.maxTokens);
  check(['en', 'off'].includes(r.language), 'language', "'en' or 'off'", r.language);
  return r;
}

const snippet = (s: string): string => (s.length > 300 ? s.slice(0, 300) + '…' : s);

export async function curate(options: CurateOptions): Promise<CurationReport> {
  const t0 = performance.now();
  const o = resolveOptions(options);
  const found = discoverInputs(o.inputs, o.format);
  // never read our own outputs back (an --out folder inside an input folder)
  const outAbs = resolve(o.outDir) + sep;
  const files = found.files.filter((f) => !resolve(f.file).startsWith(outAbs));
  const skipped = [...found.skipped, ...found.files.filter((f) => resolve(f.file).startsWith(outAbs)).map((f) => f.file)];
  if (files.length === 0) throw new LorakitError('LK_DATA', `no input files outside the output folder '${o.outDir}'`);
  // The --out rule of util/out-dir.ts; the out folder may sit inside an input folder (its files are skipped above).
  const inputs = o.inputs.map((path) => ({ flag: 'input', path, outMayBeInside: true }));
  const dir = beginOutDir(o.outDir, { verb: 'data curate', overwrite: o.overwrite, inputs });
  const paths = (d: string) => ({
    train: join(d, 'train.jsonl'), eval: join(d, 'eval.jsonl'), rejects: join(d, 'rejects.jsonl'), removed: join(d, 'removed.jsonl'),
    reportJson: join(d, 'report.json'), reportMd: join(d, 'report.md'), reportHtml: join(d, 'report.html'),
  });
  const out = paths(dir.tmp); // written here, renamed to o.outDir at the end; the report names the final paths
  let sinks: Record<'train' | 'eval' | 'rejects' | 'removed', AtomicJsonlSink>, spool: AtomicJsonlSink;
  try {
    sinks = {
      train: new AtomicJsonlSink(out.train), eval: new AtomicJsonlSink(out.eval),
      rejects: new AtomicJsonlSink(out.rejects), removed: new AtomicJsonlSink(out.removed),
    };
    spool = new AtomicJsonlSink(join(dir.tmp, 'spool.jsonl'));
  } catch (e) {
    dir.abort();
    throw e;
  }
  try {
    const report = await run();
    dir.commit();
    return report;
  } catch (e) {
    for (const s of Object.values(sinks)) s.abort();
    dir.abort();
    throw e;
  } finally {
    spool.abort();
  }

  async function run(): Promise<CurationReport> {
    const tokenCount = o.tokenCounter ?? heuristicTokenCount;
    const nearOn = o.nearDupThreshold < 1;
    const { bands, rows } = lshParams(o.nearDupThreshold, o.numPerm);
    const hasher = new MinHasher(o.numPerm, 1);
    const near = new NearDupIndex({ numPerm: o.numPerm, bands, rows, threshold: o.nearDupThreshold });
    const exact = new ExactSet();
    const uniq = { file: new U32Vec(), line: new U32Vec() };
    const spooled = { file: new U32Vec(), line: new U32Vec(), key: new U32Vec() };
    const rejectedBy: Partial<Record<RejectReason, number>> = {};
    const removedBy: Partial<Record<FilterName, number>> = {};
    const exRejected: Partial<Record<RejectReason, ReportExample[]>> = {};
    const exRemoved: Partial<Record<FilterName | 'exact_dup' | 'near_dup', ReportExample[]>> = {};
    const addEx = <K extends string>(m: Partial<Record<K, ReportExample[]>>, k: K, e: ReportExample): void => {
      const l = (m[k] ??= []);
      if (l.length < o.examplesPerReason) l.push(e);
    };
    const c = { input: 0, rejected: 0, removed: 0, exact: 0, near: 0, train: 0, eval: 0 };
    const boiler = { recordsChanged: 0, charsRemoved: 0 };
    const validHist = new LogHistogram(), keptHist = new LogHistogram();
    const inputs: { file: string; format: 'jsonl' | 'csv' | 'txt'; records: number; bytes: number }[] = [];
    const totalBytes = files.reduce((n, f) => n + f.bytes, 0);
    let bytesDone = 0;
    const locOf = (fileIdx: number, line: number): string => `${files[fileIdx].file}:${line}`;
    const usePpl = o.perplexity !== undefined && Number.isFinite(o.maxPerplexity);

    // ---- pass 1 ----
    o.onProgress?.({ phase: 'read', done: 0, total: totalBytes, records: 0 });
    for (let fi = 0; fi < files.length; fi++) {
      const input = files[fi];
      let records = 0;
      for await (const item of readRecords(input, { txtUnit: o.txtUnit, maxRecordBytes: o.maxRecordBytes })) {
        records++; c.input++;
        bytesDone += item.bytes;
        if (o.onProgress && c.input % 2000 === 0)
          o.onProgress({ phase: 'read', done: Math.min(bytesDone, totalBytes), total: totalBytes, records: c.input });
        const loc = locOf(fi, item.loc.line);
        const reject = (reason: RejectReason, detail: string, extra: Record<string, unknown>, snip: string): void => {
          c.rejected++;
          rejectedBy[reason] = (rejectedBy[reason] ?? 0) + 1;
          sinks.rejects.write({ loc, reason, detail, ...extra });
          addEx(exRejected, reason, { loc, snippet: snippet(snip), detail });
        };
        if (item.kind === 'error') { reject(item.reason, item.detail, { raw: item.raw }, item.raw); continue; }
        const v = toRecord(item.value, o.fieldMap);
        if (!v.ok) { reject(v.reason, v.detail, { value: item.value }, JSON.stringify(item.value) ?? ''); continue; }
        const stats = { removedChars: 0 };
        const rec = normalizeRecord(v.record, o.stripBoilerplate, stats);
        if (stats.removedChars > 0) { boiler.recordsChanged++; boiler.charsRemoved += stats.removedChars; }
        if (hasEmptyField(rec)) {
          reject(
            'empty_after_normalize',
            'a field is empty after normalisation' + (o.stripBoilerplate ? ' and boilerplate stripping' : ''),
            { value: v.record },
            recordContent(v.record),
          );
          continue;
        }
        const json = JSON.stringify(rec);
        const content = recordContent(rec);
        const tokens = tokenCount(content);
        validHist.add(tokens);
        const digest = createHash('sha256').update(json).digest();
        const hi = digest.readUInt32BE(0), lo = digest.readUInt32BE(4);
        const first = exact.getOrInsert(hi, lo, uniq.file.length);
        const remove = (filter: FilterName | 'exact_dup', detail: string, extra: Record<string, unknown>): void => {
          sinks.removed.write({ loc, filter, detail, ...extra, record: rec });
          addEx(exRemoved, filter, { loc, snippet: snippet(content), detail });
        };
        if (first >= 0) {
          c.exact++;
          const of = locOf(uniq.file.data[first], uniq.line.data[first]);
          remove('exact_dup', `same content as ${of}`, { duplicateOf: of });
          continue;
        }
        uniq.file.push(fi); uniq.line.push(item.loc.line);
        const words = wordHashes(content);
        let hit = qualityCheck(content, words, tokens, o);
        let sig: Uint32Array | null = null;
        if (!hit && nearOn) {
          sig = hasher.signature(shingleHashes(words, o.shingle));
          if (usePpl) sig = sig.slice(); // the shared buffer may be reused while we await the scorer
        }
        const emptySig = words.length === 0;
        if (!hit && usePpl) {
          const ppl = await o.perplexity!(content);
          if (!(ppl <= o.maxPerplexity)) hit = { name: 'perplexity', detail: `perplexity ${ppl.toFixed(1)} > ${o.maxPerplexity}` };
        }
        if (hit) {
          c.removed++;
          removedBy[hit.name] = (removedBy[hit.name] ?? 0) + 1;
          remove(hit.name, hit.detail, {});
          continue;
        }
        if (sig) near.add(sig, emptySig);
        spooled.file.push(fi); spooled.line.push(item.loc.line); spooled.key.push(hi);
        spool.writeLine(`{"t":${tokens},"r":${json}}`);
      }
      inputs.push({ file: input.file, format: input.format, records, bytes: input.bytes });
    }
    spool.commit(false);
    const t1 = performance.now();

    // ---- near-duplicate clusters ----
    let nd: NearDupStats = { candidatePairs: 0, verifiedPairs: 0, clusters: 0, largestCluster: 0 };
    if (nearOn) o.onProgress?.({ phase: 'near-dup', done: 0, total: bands, records: near.count });
    if (nearOn) nd = near.cluster((b) => o.onProgress?.({ phase: 'near-dup', done: b + 1, total: bands, records: near.count }));
    const t2 = performance.now();

    // ---- pass 2: the spool → train / eval ----
    const piiCounts = emptyPiiCounts();
    let recordsWithPii = 0;
    let k = 0;
    o.onProgress?.({ phase: 'write', done: 0, total: spooled.key.length, records: 0 });
    for await (const { text } of readLines(spool.tempPath)) {
      const row = JSON.parse(text) as { t: number; r: TrainRecord };
      const root = nearOn ? near.root(k) : k;
      const loc = locOf(spooled.file.data[k], spooled.line.data[k]);
      if (o.removeNearDups && root !== k) {
        c.near++;
        const of = locOf(spooled.file.data[root], spooled.line.data[root]);
        const jaccard = Math.round(near.similarity(k, root) * 1000) / 1000;
        sinks.removed.write({
          loc,
          filter: 'near_dup',
          detail: `near-duplicate of ${of} (estimated Jaccard ${jaccard})`,
          duplicateOf: of,
          jaccard,
          record: row.r,
        });
        addEx(exRemoved, 'near_dup', { loc, snippet: snippet(recordContent(row.r)), detail: `near-duplicate of ${of}, Jaccard ≈ ${jaccard}` });
      } else {
        const scrubbed = scrubRecord(row.r, piiCounts);
        if (scrubbed.found) recordsWithPii++;
        const side = assignSplit(spooled.key.data[root], o.seed, o.evalFraction);
        sinks[side].write(o.redactPii ? scrubbed.record : row.r);
        c[side]++;
        keptHist.add(row.t);
      }
      k++;
      if (o.onProgress && k % 2000 === 0) o.onProgress({ phase: 'write', done: k, total: spooled.key.length, records: k });
    }
    if (k !== spooled.key.length) throw new LorakitError('LK_INTERNAL', `spool has ${k} rows, expected ${spooled.key.length}`);
    for (const s of Object.values(sinks)) s.commit();
    const t3 = performance.now();

    const kept = c.train + c.eval;
    const totalSeconds = (t3 - t0) / 1000;
    const report: CurationReport = {
      version: 1,
      inputs,
      skippedFiles: skipped,
      options: {
        format: o.format, txtUnit: o.txtUnit, fieldMap: o.fieldMap ?? {}, stripBoilerplate: o.stripBoilerplate, redactPii: o.redactPii,
        nearDupThreshold: o.nearDupThreshold, shingle: o.shingle, numPerm: o.numPerm, removeNearDups: o.removeNearDups,
        evalFraction: o.evalFraction, seed: o.seed, minTokens: o.minTokens, maxTokens: Number.isFinite(o.maxTokens) ? o.maxTokens : null,
        maxRepeatedNgramFrac: o.maxRepeatedNgramFrac, maxDupLineFrac: o.maxDupLineFrac, minAlphaFrac: o.minAlphaFrac, language: o.language,
        minStopwordFrac: o.minStopwordFrac, maxPerplexity: usePpl ? o.maxPerplexity : null, maxRecordBytes: o.maxRecordBytes,
      },
      tokenCounter: o.tokenCounterName ?? (o.tokenCounter ? 'custom' : 'heuristic: words + punctuation (no tokenizer given)'),
      counts: {
        input: c.input,
        kept,
        train: c.train,
        eval: c.eval,
        rejected: c.rejected,
        removed: c.removed,
        exactDuplicates: c.exact,
        nearDuplicates: c.near,
      },
      balanced: c.input === kept + c.rejected + c.removed + c.exact + c.near,
      rejectedByReason: rejectedBy,
      removedByFilter: removedBy,
      pii: { redacted: o.redactPii, recordsWithPii, byKind: piiCounts },
      boilerplate: { enabled: o.stripBoilerplate, ...boiler },
      nearDup: {
        threshold: o.nearDupThreshold, shingle: o.shingle, numPerm: o.numPerm, bands: nearOn ? bands : 0,
        rows: nearOn ? rows : 0, ...nd, seconds: (t2 - t1) / 1000,
      },
      lengths: { valid: validHist.toJSON(), kept: keptHist.toJSON() },
      examples: { rejected: exRejected, removed: exRemoved },
      timings: {
        readSeconds: (t1 - t0) / 1000, nearDupSeconds: (t2 - t1) / 1000, writeSeconds: (t3 - t2) / 1000, totalSeconds,
        recordsPerSecond: totalSeconds > 0 ? c.input / totalSeconds : 0,
      },
      outputs: paths(dir.target),
    };
    if (!report.balanced) throw new LorakitError('LK_INTERNAL', `curation lost records: ${JSON.stringify(report.counts)}`);
    writeJsonAtomic(out.reportJson, report);
    writeFileAtomic(out.reportMd, renderMarkdown(report));
    writeFileAtomic(out.reportHtml, renderHtml(report));
    rmSync(spool.tempPath, { force: true });
    return report;
  }
}
