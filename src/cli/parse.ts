// argv → typed flags, with no side effects (tested directly), and the value parsers commands share.
import { existsSync, statSync } from 'node:fs';
import { LorakitError } from '../errors.js';
import type { AnyCommand } from './command.js';

export interface ParsedArgs {
  readonly flags: Record<string, unknown>;
  readonly positionals: string[];
  readonly help: boolean;
}

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
export const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

export function parseArgs(cmd: AnyCommand, argv: readonly string[]): ParsedArgs {
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  let help = false;
  const specs = cmd.flags;
  const byShort = new Map(Object.entries(specs).filter(([, s]) => s.short).map(([k, s]) => [s.short!, k]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { help = true; continue; }
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('-') || a === '-') { positionals.push(a); continue; }
    let name: string, inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = camel(eq >= 0 ? a.slice(2, eq) : a.slice(2));
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else {
      const k = byShort.get(a.slice(1));
      if (!k) throw new LorakitError('LK_ARG', `${cmd.name}: unknown flag '${a}'`, { hint: `run 'lorakit ${cmd.name} --help'` });
      name = k;
    }
    let negated = false;
    if (!(name in specs) && name.startsWith('no') && camel(name.slice(2, 3).toLowerCase() + name.slice(3)) in specs) {
      name = name.slice(2, 3).toLowerCase() + name.slice(3);
      negated = true;
    }
    const spec = specs[name];
    if (!spec) throw new LorakitError('LK_ARG', `${cmd.name}: unknown flag '--${kebab(name)}'`, { hint: `run 'lorakit ${cmd.name} --help'` });
    if (!spec.arg) { // boolean switch
      flags[name] = inline === undefined ? !negated : !['false', '0', 'no'].includes(inline);
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new LorakitError('LK_ARG', `${cmd.name}: flag '--${kebab(name)}' needs a value ${spec.arg}`);
    const value = spec.parse ? spec.parse(raw, `--${kebab(name)}`) : raw;
    if (spec.repeatable) flags[name] = [...((flags[name] as unknown[] | undefined) ?? []), value];
    else flags[name] = value;
  }
  for (const [k, s] of Object.entries(specs)) {
    if (flags[k] === undefined) {
      if (s.default !== undefined) flags[k] = Array.isArray(s.default) ? [...s.default] : s.default;
      else if (s.repeatable) flags[k] = [];
    }
    if (!help && s.required && flags[k] === undefined) {
      throw new LorakitError('LK_ARG', `${cmd.name}: missing required flag '--${kebab(k)} ${s.arg ?? ''}'`.trim(), {
        hint: `run 'lorakit ${cmd.name} --help'`,
      });
    }
  }
  return { flags, positionals, help };
}

export function helpText(cmd: AnyCommand): string {
  const lines = [`lorakit ${cmd.name}${cmd.positionals ? ' ' + cmd.positionals : ''} [flags]`, '', cmd.summary, '', 'Flags:'];
  const rows = Object.entries(cmd.flags).map(([k, s]) => {
    const left = `  ${s.short ? `-${s.short}, ` : ''}--${kebab(k)}${s.arg ? ' ' + s.arg : ''}`;
    const def =
      s.default !== undefined && s.default !== false && !(Array.isArray(s.default) && s.default.length === 0)
        ? ` (default: ${JSON.stringify(s.default)})`
        : '';
    return [left, `${s.help}${s.required ? ' (required)' : ''}${def}${s.repeatable ? ' (repeatable)' : ''}`] as const;
  });
  rows.push(['  -h, --help', 'Show this help']);
  const w = Math.max(...rows.map(([l]) => l.length)) + 2;
  for (const [l, r] of rows) lines.push(l.padEnd(w) + r);
  if (cmd.example) lines.push('', 'Example:', `  ${cmd.example}`);
  return lines.join('\n');
}

// ---- shared value parsers ----
export function positiveInt(raw: string, flag: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new LorakitError('LK_ARG', `'${flag}' must be a positive integer, got '${raw}'`);
  return n;
}
export function nonNegativeInt(raw: string, flag: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new LorakitError('LK_ARG', `'${flag}' must be an integer >= 0, got '${raw}'`);
  return n;
}
export function finiteNumber(raw: string, flag: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new LorakitError('LK_ARG', `'${flag}' must be a number, got '${raw}'`);
  return n;
}
export function unitInterval(raw: string, flag: string): number {
  const n = finiteNumber(raw, flag);
  if (n < 0 || n > 1) throw new LorakitError('LK_ARG', `'${flag}' is out of range [0, 1], got ${n}`);
  return n;
}
export function existingDir(raw: string, flag: string): string {
  if (!existsSync(raw) || !statSync(raw).isDirectory()) throw new LorakitError('LK_ARG', `'${flag}': no such folder '${raw}'`);
  return raw;
}
export function existingFile(raw: string, flag: string): string {
  if (!existsSync(raw) || !statSync(raw).isFile()) throw new LorakitError('LK_ARG', `'${flag}': no such file '${raw}'`);
  return raw;
}
export function oneOf<T extends string>(values: readonly T[]): (raw: string, flag: string) => T {
  return (raw, flag) => {
    if (!(values as readonly string[]).includes(raw)) throw new LorakitError('LK_ARG', `'${flag}' must be one of ${values.join(', ')}; got '${raw}'`);
    return raw as T;
  };
}
