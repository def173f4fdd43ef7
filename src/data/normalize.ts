// Text normalisation for curation: Unicode NFC, control/zero-width characters removed, odd spaces made plain,
// trailing spaces and runs of blank lines trimmed (leading indentation is kept, so code survives), and the
// optional e-mail boilerplate stripper: headers, MIME parts, quoted replies, signatures, list footers.
import type { TrainRecord } from './types.js';

// eslint-disable-next-line no-control-regex -- removing control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u00AD\u200B-\u200D\u2060\uFEFF]/g;
const ODD_SPACES = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g;
// eslint-disable-next-line no-control-regex -- fast path: pure printable ASCII needs no NFC
const NON_ASCII_OR_CTRL = /[^\x09\x0A\x20-\x7E]/;

/** NFC + whitespace normalisation of one string. */
export function normalizeText(s: string): string {
  if (s.includes('\r')) s = s.replace(/\r\n?/g, '\n');
  if (NON_ASCII_OR_CTRL.test(s)) s = s.normalize('NFC').replace(CONTROL, '').replace(ODD_SPACES, ' ');
  return s
    .replace(/(\S)[ \t]{2,}/g, '$1 ') // runs of spaces inside a line (indentation is kept)
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\s+$/g, '');
}

const HEADER_LINE = /^[!-9;-~]+:(?: |\t|$)/;
const KNOWN_HEADERS = /^(from|to|cc|subject|date|received|return-path|message-id|delivered-to|reply-to|mime-version|content-type|x-[a-z-]+):/i;
const ATTRIBUTION = /^\s*(?:On\s.{0,300}|.{0,160})\bwrote:\s*$/i;
const MIME_LINE = /^(?:content-[a-z-]+:|this is a multi-part message in mime format|--[-=_.+A-Za-z0-9]{8,}-{0,2}\s*$)/i;
const BASE64_LINE = /^[A-Za-z0-9+/]{40,}={0,2}$/;

/** End (exclusive) of a header block at `k` (>= 2 known fields, or one with continuation lines), or k when there is none. */
function headerBlockEnd(lines: readonly string[], k: number): number {
  let known = 0, i = k;
  for (; i < lines.length; i++) {
    const l = lines[i];
    if (HEADER_LINE.test(l)) { if (KNOWN_HEADERS.test(l)) known++; continue; }
    if (i > k && /^[ \t]+\S/.test(l)) continue;
    break;
  }
  return known >= 2 || (known >= 1 && i - k >= 2) ? i : k;
}

/**
 * Removes e-mail boilerplate: the header block at the top (mbox 'From ' line, 'Field: value' lines and their
 * continuations up to the first blank line, when at least two known header fields are present), MIME boundary,
 * Content-* and base64 lines, quoted replies ('>' lines and 'On … wrote:' attributions), everything after
 * '-----Original Message-----', a signature ('-- ' line) and a mailing-list footer (a '____' rule followed by
 * list text). Header blocks embedded in the body (forwards, bounces) go too. Text without any of these is
 * returned unchanged.
 */
export function stripBoilerplate(s: string): string {
  const lines = s.replace(/\r\n?/g, '\n').split('\n');
  let start = 0;
  // 1. header block
  let known = 0, i = 0;
  for (; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '') break;
    if (i === 0 && /^From \S/.test(l)) { known++; continue; }
    if (HEADER_LINE.test(l)) { if (KNOWN_HEADERS.test(l)) known++; continue; }
    if (i > 0 && /^[ \t]+\S/.test(l)) continue;
    known = -1;
    break;
  }
  if (known >= 2 && i < lines.length) start = i + 1;
  const out: string[] = [];
  for (let k = start; k < lines.length; k++) {
    const l = lines[k];
    if (/^-{2,}\s*Original Message\s*-{2,}/i.test(l.trim())) break;
    if (/^-- ?$/.test(l)) break; // signature delimiter (RFC 3676 '-- ')
    if (/^_{10,}\s*$/.test(l) && lines.slice(k + 1, k + 4).some((x) => /mailing list|unsubscribe|https?:\/\/|listinfo/i.test(x))) break;
    if (/^\s*>/.test(l) || ATTRIBUTION.test(l)) continue;
    if (KNOWN_HEADERS.test(l)) { // an embedded header block (forwarded message, bounce): skip it whole
      const end = headerBlockEnd(lines, k);
      if (end > k) { k = end - 1; continue; }
    }
    if (MIME_LINE.test(l) || BASE64_LINE.test(l)) continue;
    out.push(l);
  }
  return out.join('\n');
}

/** Normalises every string of a record (and strips boilerplate from each when asked). */
export function normalizeRecord(r: TrainRecord, boilerplate: boolean, stats?: { removedChars: number }): TrainRecord {
  const f = !boilerplate ? normalizeText : (s: string): string => {
    const t = stripBoilerplate(s);
    if (stats && t.length !== s.length) stats.removedChars += s.length - t.length;
    return normalizeText(t);
  };
  if ('text' in r) return { text: f(r.text) };
  if ('prompt' in r) return { prompt: f(r.prompt), completion: f(r.completion) };
  return { messages: r.messages.map((m) => ({ role: m.role, content: f(m.content) })) };
}

/** The record's text as one string (what the filters, dedup and length count look at). */
export function recordContent(r: TrainRecord): string {
  if ('text' in r) return r.text;
  if ('prompt' in r) return r.prompt + '\n\n' + r.completion;
  return r.messages.map((m) => m.content).join('\n\n');
}

/** True when some string field of the record is empty (e.g. it held only boilerplate). */
export function hasEmptyField(r: TrainRecord): boolean {
  if ('text' in r) return r.text === '';
  if ('prompt' in r) return r.prompt === '' || r.completion === '';
  return r.messages.some((m) => m.content === '');
}
