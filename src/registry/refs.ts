// Adapter references: 'name' (latest version), 'name@v3' (a version), 'name@production' (an alias),
// 'name@latest'. Names may contain one '/' (org/name), like Hugging Face repos.
import { LorakitError } from '../errors.js';

export type RefSelector =
  | { readonly kind: 'latest' }
  | { readonly kind: 'version'; readonly version: number }
  | { readonly kind: 'alias'; readonly alias: string };
export interface ParsedRef { readonly name: string; readonly selector: RefSelector }

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;
const LABEL_RE = /^[A-Za-z][A-Za-z0-9._-]*$/;

export function checkName(name: string): string {
  if (!NAME_RE.test(name) || name.length > 200) {
    throw new LorakitError(
      'LK_ARG',
      `adapter name '${name}' is invalid: expected letters, digits, '.', '_', '-' and at most one '/' (e.g. 'support' or 'acme/support')`,
    );
  }
  return name;
}

/** Aliases and tags: a letter first; 'latest' and 'v<N>' are reserved because refs use them. */
export function checkLabel(label: string, what: 'alias' | 'tag'): string {
  if (!LABEL_RE.test(label) || label.length > 100) {
    throw new LorakitError(
      'LK_ARG',
      `${what} '${label}' is invalid: expected a letter, then letters, digits, '.', '_' or '-'`,
    );
  }
  if (what === 'alias' && (label === 'latest' || /^v\d+$/.test(label)))
    throw new LorakitError('LK_ARG', `alias '${label}' is reserved (refs use 'latest' and 'v<N>')`);
  return label;
}

export function parseRef(ref: string): ParsedRef {
  const at = ref.lastIndexOf('@');
  const name = checkName(at < 0 ? ref : ref.slice(0, at));
  if (at < 0) return { name, selector: { kind: 'latest' } };
  const sel = ref.slice(at + 1);
  if (sel === 'latest') return { name, selector: { kind: 'latest' } };
  const m = /^v(\d+)$/.exec(sel);
  if (m) return { name, selector: { kind: 'version', version: Number(m[1]) } };
  return { name, selector: { kind: 'alias', alias: checkLabel(sel, 'alias') } };
}

export const isFingerprint = (s: string): boolean => /^[0-9a-f]{64}$/.test(s);
export const shortFp = (fp: string): string => `${fp.slice(0, 12)}…`;
