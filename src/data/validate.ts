// Record validation: a parsed input value (JSON object, CSV row, or text) → one of the three training shapes,
// or a rejection reason with a message that names the field. Checks types, empty fields and chat role order
// (optional system first, then user/assistant alternating, ending with assistant).
import type { ChatMessage, RejectReason, Role, TrainRecord } from './types.js';

export type Validated =
  | { readonly ok: true; readonly record: TrainRecord }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

const fail = (reason: RejectReason, detail: string): Validated => ({ ok: false, reason, detail });
const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
const roles: readonly Role[] = ['system', 'user', 'assistant'];

/** Parses `--map` values like 'text=body' or 'prompt=question,completion=answer' into a field map. */
export function parseFieldMap(specs: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const spec of specs) {
    for (const part of spec.split(',')) {
      const eq = part.indexOf('=');
      const key = part.slice(0, eq).trim();
      const src = part.slice(eq + 1).trim();
      if (eq <= 0 || !src || !['text', 'prompt', 'completion', 'messages'].includes(key)) {
        throw new TypeError(`bad field mapping '${part}': expected text=<field>, prompt=<field>, completion=<field> or messages=<field>`);
      }
      map[key] = src;
    }
  }
  return map;
}

function str(obj: Record<string, unknown>, field: string, src: string): string | Validated {
  const v = obj[src];
  if (v === undefined) return fail('unknown_schema', `field '${src}' is missing`);
  if (typeof v !== 'string') return fail('wrong_type', `field '${src}' is ${typeName(v)}, expected a string (${field})`);
  if (v.trim() === '') return fail('empty_field', `field '${src}' is empty (${field})`);
  return v;
}

function messagesOf(v: unknown, src: string): Validated {
  if (!Array.isArray(v)) return fail('wrong_type', `field '${src}' is ${typeName(v)}, expected an array of {role, content}`);
  if (v.length === 0) return fail('empty_field', `field '${src}' is an empty array`);
  const out: ChatMessage[] = [];
  for (let i = 0; i < v.length; i++) {
    const m = v[i] as Record<string, unknown>;
    if (m === null || typeof m !== 'object' || Array.isArray(m))
      return fail('wrong_type', `${src}[${i}] is ${typeName(m)}, expected {role, content}`);
    if (typeof m.role !== 'string') return fail('wrong_type', `${src}[${i}].role is ${typeName(m.role)}, expected a string`);
    if (!roles.includes(m.role as Role)) return fail('bad_role', `${src}[${i}].role is '${m.role}', expected one of ${roles.join(', ')}`);
    if (typeof m.content !== 'string') return fail('wrong_type', `${src}[${i}].content is ${typeName(m.content)}, expected a string`);
    if (m.content.trim() === '') return fail('empty_field', `${src}[${i}].content is empty`);
    out.push({ role: m.role as Role, content: m.content });
  }
  const order = checkRoleOrder(out.map((m) => m.role));
  if (order) return fail('roles_out_of_order', `${src}: ${order}`);
  return { ok: true, record: { messages: out } };
}

/** Returns null when the roles are in order, else what is wrong (system optional first; user/assistant alternate; last is assistant). */
export function checkRoleOrder(rs: readonly Role[]): string | null {
  let i = rs[0] === 'system' ? 1 : 0;
  if (i >= rs.length) return 'no user/assistant turn after the system message';
  let expect: Role = 'user';
  for (; i < rs.length; i++) {
    if (rs[i] !== expect) return `message ${i} has role '${rs[i]}', expected '${expect}'`;
    expect = expect === 'user' ? 'assistant' : 'user';
  }
  if (rs[rs.length - 1] !== 'assistant') return `the last message has role '${rs[rs.length - 1]}', expected 'assistant'`;
  return null;
}

/** Maps a raw value to a training record. Strings (text files) become {text}. */
export function toRecord(value: unknown, fieldMap: Readonly<Record<string, string>> = {}): Validated {
  if (typeof value === 'string') return value.trim() === '' ? fail('empty_field', 'text is empty') : { ok: true, record: { text: value } };
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return fail('not_an_object', `record is ${typeName(value)}, expected a JSON object`);
  const obj = value as Record<string, unknown>;
  const src = (k: string): string => fieldMap[k] ?? k;
  const has = (k: string): boolean => obj[src(k)] !== undefined;
  if (fieldMap.messages !== undefined || (!fieldMap.text && !fieldMap.prompt && has('messages')))
    return messagesOf(obj[src('messages')], src('messages'));
  if (fieldMap.prompt !== undefined || fieldMap.completion !== undefined || (!fieldMap.text && (has('prompt') || has('completion')))) {
    const prompt = str(obj, 'prompt', src('prompt'));
    if (typeof prompt !== 'string') return prompt;
    const completion = str(obj, 'completion', src('completion'));
    if (typeof completion !== 'string') return completion;
    return { ok: true, record: { prompt, completion } };
  }
  if (fieldMap.text !== undefined || has('text')) {
    const text = str(obj, 'text', src('text'));
    return typeof text === 'string' ? { ok: true, record: { text } } : text;
  }
  const keys = Object.keys(obj).slice(0, 8).map((k) => `'${k}'`).join(', ');
  return fail(
    'unknown_schema',
    `record has none of 'text', 'prompt'/'completion', 'messages' (fields: ${keys || 'none'}); map one with --map text=<field>`,
  );
}
