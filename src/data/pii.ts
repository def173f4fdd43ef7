// PII detection and redaction: e-mail addresses, phone numbers, credit-card numbers (Luhn-checked), IPv4/IPv6
// addresses and secret-looking tokens (known API-key prefixes, long high-entropy strings). Detectors run in a
// fixed order on a working copy in which earlier hits are already replaced, so nothing is counted twice.
import { isIPv6 } from 'node:net';
import type { PiiKind, TrainRecord } from './types.js';

export const piiPlaceholders: Readonly<Record<PiiKind, string>> = {
  secret: '<SECRET>', email: '<EMAIL>', credit_card: '<CREDIT_CARD>', ipv6: '<IP_ADDRESS>', ipv4: '<IP_ADDRESS>', phone: '<PHONE>',
};

export type PiiCounts = Record<PiiKind, number>;
export const emptyPiiCounts = (): PiiCounts => ({ email: 0, phone: 0, credit_card: 0, ipv4: 0, ipv6: 0, secret: 0 });

/** Luhn checksum over the digits of s (separators ignored). */
export function luhnValid(s: string): boolean {
  const d = s.replace(/\D/g, '');
  if (d.length < 13 || d.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let x = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) { x *= 2; if (x > 9) x -= 9; }
    sum += x;
  }
  return sum % 10 === 0;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  const freq = new Map<string, number>();
  for (const c of s) freq.set(c, (freq.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of freq.values()) { const p = n / s.length; h -= p * Math.log2(p); }
  return h;
}

// Provider key formats: OpenAI/Anthropic, AWS (long-term and session), GitHub (tokens and fine-grained
// PATs), Slack, Google, Stripe, GitLab.
const KNOWN_KEY_FORMATS = [
  String.raw`sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}`, String.raw`AKIA[0-9A-Z]{16}`, String.raw`ASIA[0-9A-Z]{16}`,
  String.raw`gh[pousr]_[A-Za-z0-9]{36,}`, String.raw`github_pat_[A-Za-z0-9_]{40,}`, String.raw`xox[abprs]-[A-Za-z0-9-]{10,}`,
  String.raw`AIza[0-9A-Za-z_-]{35}`, String.raw`sk_live_[0-9a-zA-Z]{24,}`, String.raw`glpat-[0-9A-Za-z_-]{20}`,
];
const KNOWN_KEYS = new RegExp(String.raw`\b(?:${KNOWN_KEY_FORMATS.join('|')})\b`, 'g');
const LONG_TOKEN = /(?<![A-Za-z0-9+/_=.-])[A-Za-z0-9+_=-]{32,}(?![A-Za-z0-9+/_=-])/g; // no '/' or '.': URL paths are not secrets
const EMAIL = /\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b/g;
const CARD = /(?<![\w/=.-])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{5})(?![\w-]|\.\w)/g; // card layouts only
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})(?![\w:])/g;
const IPV4 = /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.]|\.\d)/g;
// International (+country, optional area code in parentheses, 2–5 groups), then the two North American layouts.
const PHONE_LAYOUTS = [
  String.raw`\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}`,
  String.raw`\(\d{3}\)[ .-]?\d{3}[.-]\d{4}`, String.raw`\d{3}[.-]\d{3}[.-]\d{4}`,
];
const PHONE = new RegExp(String.raw`(?<![\w+.-])(?:${PHONE_LAYOUTS.join('|')})(?!\w|[.-]\d)`, 'g');

/** A long token counts as a secret when it mixes upper, lower and digits and has high entropy (not a word, hex hash or path). */
function looksSecret(tok: string): boolean {
  if (!/[a-z]/.test(tok) || !/[A-Z]/.test(tok) || !/\d/.test(tok)) return false;
  return shannonEntropy(tok) >= 4.2;
}

/** [kind, pattern, check of a match (null: none), cheap pre-test of the whole text (null: none)] */
type Detector = readonly [PiiKind, RegExp, ((m: string) => boolean) | null, ((t: string) => boolean) | null];
const hasDigit = (t: string): boolean => /\d/.test(t);
const detectors: readonly Detector[] = [
  ['secret', KNOWN_KEYS, null, null],
  ['secret', LONG_TOKEN, looksSecret, (t) => /[A-Za-z0-9+_=-]{32}/.test(t)],
  ['email', EMAIL, null, (t) => t.includes('@')],
  ['credit_card', CARD, luhnValid, hasDigit],
  ['ipv6', IPV6, (m) => isIPv6(m) && (m.match(/[0-9A-Fa-f]+/g)?.length ?? 0) >= 3 && /[A-Fa-f]|::/.test(m), (t) => t.includes(':')],
  ['ipv4', IPV4, null, (t) => /\d\.\d/.test(t)],
  ['phone', PHONE, (m) => { const d = m.replace(/\D/g, '').length; return d >= 9 && d <= 15; }, hasDigit],
];
const MAYBE_PII = /[@:.\d]|sk-|AKIA|gh|xox|AIza/;

/** Counts PII in `text` (adding to `counts`) and returns the text with each hit replaced by its placeholder. */
export function scrubText(text: string, counts: PiiCounts): string {
  if (!MAYBE_PII.test(text)) return text;
  let t = text;
  for (const [kind, re, check, pre] of detectors) {
    if (pre && !pre(t)) continue;
    re.lastIndex = 0;
    t = t.replace(re, (m: string) => {
      if (check && !check(m)) return m;
      counts[kind]++;
      return piiPlaceholders[kind];
    });
  }
  return t;
}

/** Scrubs every string of a record; returns the redacted record (use it or not) and whether any PII was found. */
export function scrubRecord(r: TrainRecord, counts: PiiCounts): { record: TrainRecord; found: boolean } {
  const before = Object.values(counts).reduce((a, b) => a + b, 0);
  let record: TrainRecord;
  if ('text' in r) record = { text: scrubText(r.text, counts) };
  else if ('prompt' in r) record = { prompt: scrubText(r.prompt, counts), completion: scrubText(r.completion, counts) };
  else record = { messages: r.messages.map((m) => ({ role: m.role, content: scrubText(m.content, counts) })) };
  return { record, found: Object.values(counts).reduce((a, b) => a + b, 0) > before };
}
