// Streaming input readers for curation: find the input files, then yield one raw item per record with its
// file:line, never holding a whole file in memory (JSONL and CSV by line, text by file/paragraph/line).
// Bytes are decoded per record with a fatal TextDecoder, so invalid UTF-8 is a rejection, not U+FFFD soup.
// Not here: schema checks (validate.ts) and text clean-up (normalize.ts).
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { LorakitError } from '../errors.js';
import type { InputFormat, RejectReason, SourceLoc, TxtUnit } from './types.js';

export type ReadFormat = Exclude<InputFormat, 'auto'>;
export interface InputFile { readonly file: string; readonly format: ReadFormat; readonly bytes: number }

export type RawItem =
  | { readonly kind: 'value'; readonly loc: SourceLoc; readonly value: unknown; readonly bytes: number }
  | {
    readonly kind: 'error'; readonly loc: SourceLoc; readonly reason: RejectReason; readonly detail: string; readonly raw: string;
    readonly bytes: number;
  };

const extFormats: Readonly<Record<string, ReadFormat>> = {
  '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'jsonl', '.csv': 'csv', '.tsv': 'csv', '.txt': 'txt', '.text': 'txt', '.md': 'txt',
};

/** Expands files and folders into the sorted list of input files; files of other kinds in folders are skipped. */
export function discoverInputs(inputs: readonly string[], format: InputFormat = 'auto'): { files: InputFile[]; skipped: string[] } {
  if (inputs.length === 0) throw new LorakitError('LK_ARG', 'no inputs given', { hint: 'pass one or more JSONL/CSV/text files or folders' });
  const files: InputFile[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const add = (file: string, fmt: ReadFormat): void => {
    if (seen.has(file)) return;
    seen.add(file);
    if (fmt === 'jsonl' && startsWithArray(file)) {
      throw new LorakitError('LK_DATA', `'${file}' is one JSON array, not JSON Lines (one object per line)`, {
        hint: `convert it first, e.g. jq -c '.[]' ${file} > ${file.replace(/\.json$/i, '')}.jsonl`, details: { file },
      });
    }
    files.push({ file, format: fmt, bytes: statSync(file).size });
  };
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) { walk(p); continue; }
      const byExt = extFormats[extname(name).toLowerCase()];
      if (byExt && (format === 'auto' || format === byExt)) add(p, byExt);
      else skipped.push(p);
    }
  };
  for (const input of inputs) {
    if (!existsSync(input)) throw new LorakitError('LK_IO', `input '${input}' does not exist`, { details: { file: input } });
    if (statSync(input).isDirectory()) { walk(input); continue; }
    const byExt = extFormats[extname(input).toLowerCase()];
    const fmt = format === 'auto' ? byExt : format;
    if (!fmt) {
      throw new LorakitError('LK_ARG', `cannot tell the format of '${input}' from its extension '${extname(input)}'`, {
        hint: 'pass --format jsonl|csv|txt',
      });
    }
    add(input, fmt);
  }
  if (files.length === 0) {
    throw new LorakitError('LK_DATA', `no JSONL, CSV or text files found in ${inputs.join(', ')}`, {
      details: { skipped: skipped.length },
    });
  }
  return { files, skipped };
}

/** True when the first non-blank byte of the file is '[' (a JSON array document, which does not stream by line). */
function startsWithArray(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    for (let i = 0; i < n; i++) {
      const b = buf[i];
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf) continue; // blanks, BOM
      return b === 0x5b;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

interface ByteLine { readonly line: number; readonly bytes: Buffer | null; readonly size: number }

/** Splits a file into byte lines (without '\n' / '\r\n'); lines over maxBytes come back with bytes = null. */
async function* byteLines(file: string, maxBytes: number): AsyncGenerator<ByteLine> {
  let parts: Buffer[] = [];
  let partLen = 0;
  let overflow = false;
  let line = 0;
  const emit = (last: Buffer): ByteLine => {
    line++;
    const size = partLen + last.length;
    let bytes: Buffer | null = null;
    if (!overflow && size <= maxBytes) {
      bytes = parts.length ? Buffer.concat([...parts, last]) : last;
      if (bytes.length && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
    }
    parts = []; partLen = 0; overflow = false;
    return { line, bytes, size };
  };
  // small files (most of a folder of e-mails) are read in one call: a 1 MiB stream buffer each is GC churn
  const small = statSync(file).size <= 4 << 20;
  const chunks: Iterable<Buffer> | AsyncIterable<Buffer> = small
    ? [readFileSync(file)]
    : (createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>);
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      yield emit(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      partLen += rest.length;
      if (partLen > maxBytes) { overflow = true; parts = []; } else parts.push(rest);
    }
  }
  if (partLen > 0 || overflow) yield emit(Buffer.alloc(0));
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');
/** Decodes strictly; returns null on invalid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try { return decoder.decode(bytes); } catch { return null; }
}
const snip = (s: string): string => (s.length > 200 ? s.slice(0, 200) + '…' : s);
const badBytes = (bytes: Uint8Array): string => snip(lenient.decode(bytes.subarray(0, 400)));

/** Yields every record of one input file as a parsed value or an error item, in file order. */
export function readRecords(input: InputFile, opts: { txtUnit: TxtUnit; maxRecordBytes: number }): AsyncGenerator<RawItem> {
  if (input.format === 'jsonl') return readJsonl(input.file, opts.maxRecordBytes);
  if (input.format === 'csv') return readCsv(input.file, opts.maxRecordBytes, extname(input.file).toLowerCase() === '.tsv' ? '\t' : ',');
  return readTxt(input.file, opts.txtUnit, opts.maxRecordBytes);
}

function tooLarge(file: string, line: number, size: number, max: number): RawItem {
  return {
    kind: 'error',
    loc: { file, line },
    reason: 'too_large',
    detail: `record is ${size} bytes, over the limit of ${max}`,
    raw: '',
    bytes: size,
  };
}

async function* readJsonl(file: string, maxBytes: number): AsyncGenerator<RawItem> {
  for await (const { line, bytes, size } of byteLines(file, maxBytes)) {
    const loc = { file, line };
    if (bytes === null) { yield tooLarge(file, line, size, maxBytes); continue; }
    const text = decodeUtf8(bytes);
    if (text === null) {
      yield { kind: 'error', loc, reason: 'invalid_utf8', detail: 'line is not valid UTF-8', raw: badBytes(bytes), bytes: size };
      continue;
    }
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      yield { kind: 'error', loc, reason: 'bad_json', detail: (e as Error).message, raw: snip(text), bytes: size };
      continue;
    }
    yield { kind: 'value', loc, value, bytes: size };
  }
}

async function* readTxt(file: string, unit: TxtUnit, maxBytes: number): AsyncGenerator<RawItem> {
  let parts: Buffer[] = [];
  let size = 0;
  let first = 0;
  let over = false;
  const flush = (): RawItem | null => {
    if (first === 0) return null;
    const loc = { file, line: first };
    const item = ((): RawItem | null => {
      if (over) return tooLarge(file, first, size, maxBytes);
      const bytes = Buffer.concat(parts);
      const text = decodeUtf8(bytes);
      if (text === null) return { kind: 'error', loc, reason: 'invalid_utf8', detail: 'text is not valid UTF-8', raw: badBytes(bytes), bytes: size };
      return text.trim() === '' ? null : { kind: 'value', loc, value: text, bytes: size };
    })();
    parts = []; size = 0; first = 0; over = false;
    return item;
  };
  const nl = Buffer.from('\n');
  for await (const { line, bytes, size: n } of byteLines(file, maxBytes)) {
    const blank = bytes !== null && bytes.every((b) => b === 32 || b === 9);
    if (unit !== 'file' && blank) {
      const item = flush();
      if (item) yield item;
      continue;
    }
    if (first === 0) first = line;
    size += n + 1;
    if (bytes === null || size > maxBytes) { over = true; parts = []; } else if (!over) { parts.push(bytes, nl); }
    if (unit === 'line') {
      const item = flush();
      if (item) yield item;
    }
  }
  const item = flush();
  if (item) yield item;
}

/** RFC 4180 CSV: a header row, quoted fields may hold delimiters, quotes ("") and newlines. */
async function* readCsv(file: string, maxBytes: number, delim: string): AsyncGenerator<RawItem> {
  let header: string[] | null = null;
  let fields: string[] = [];
  let cur = '';
  let inQuotes = false;
  let startLine = 0;
  let badUtf8 = false;
  let size = 0;
  let rawText = '';
  const finish = (): RawItem | null => {
    fields.push(cur);
    const row = fields;
    const loc = { file, line: startLine };
    const bytes = size;
    const raw = rawText;
    fields = []; cur = ''; startLine = 0; rawText = '';
    const wasBad = badUtf8;
    badUtf8 = false; size = 0;
    if (wasBad) return { kind: 'error', loc, reason: 'invalid_utf8', detail: 'row is not valid UTF-8', raw: snip(raw), bytes };
    if (bytes > maxBytes) return tooLarge(file, loc.line, bytes, maxBytes);
    if (header === null) { header = row.map((h) => h.trim()); return null; }
    if (row.length === 1 && row[0].trim() === '') return null;
    if (row.length !== header.length) {
      return {
        kind: 'error',
        loc,
        reason: 'bad_csv',
        detail: `row has ${row.length} fields, the header has ${header.length}`,
        raw: snip(raw),
        bytes,
      };
    }
    const obj: Record<string, string> = {};
    for (let i = 0; i < header.length; i++) obj[header[i]] = row[i];
    return { kind: 'value', loc, value: obj, bytes };
  };
  for await (const { line, bytes, size: n } of byteLines(file, maxBytes)) {
    if (startLine === 0) startLine = line;
    size += n + 1;
    let text = bytes === null ? '' : decodeUtf8(bytes);
    if (text === null) { badUtf8 = true; text = lenient.decode(bytes!); }
    if (rawText.length < 400) rawText += (rawText ? '\n' : '') + text.slice(0, 400);
    if (inQuotes) cur += '\n';
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inQuotes) {
        if (c === '"') {
          if (text[i + 1] === '"') { cur += '"'; i++; } else inQuotes = false;
        } else cur += c;
      } else if (c === '"' && cur === '') inQuotes = true;
      else if (c === delim) { fields.push(cur); cur = ''; }
      else cur += c;
    }
    if (!inQuotes) {
      const item = finish();
      if (item) yield item;
    }
  }
  if (inQuotes) {
    yield {
      kind: 'error', loc: { file, line: startLine }, reason: 'bad_csv', detail: 'unterminated quoted field at end of file',
      raw: snip(rawText), bytes: size,
    };
  }
}
