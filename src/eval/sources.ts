// Task items from files, inline lists or bundled corpora, validated row by row (every bad row named with
// file:line in one LK_EVAL error). Also the held-out selectors that pretraining and fine-tuning code use to
// keep evaluation text out of training.
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import { isBrownHeldOut, readBrown } from '../data/corpora/brown.js';
import { readSotu } from '../data/corpora/sotu.js';
import { Rng } from '../util/rng.js';
import type { SourceSpec, Suite, TaskSpec } from './types.js';

export { isBrownHeldOut };

/** The held-out State of the Union addresses: those of years divisible by 10 (1790, 1800, …, 2010). */
export function isSotuHeldOut(address: { readonly year: number }): boolean {
  return address.year % 10 === 0;
}

/** Ids of the held-out Brown files (every 10th: 'ca10', 'ca20', …), for code that must exclude them. */
export function brownHeldOutIds(): string[] {
  return readBrown().map((d) => d.id).filter(isBrownHeldOut);
}

export interface TextItems { readonly texts: string[]; readonly single: boolean }
export interface GenerationItem { readonly prompt: string; readonly expected: readonly string[] }
export interface ChoiceItem { readonly context: string; readonly choices: readonly string[]; readonly answer: number }

interface Row { readonly where: string; readonly value: unknown }

function fail(task: TaskSpec, problems: string[]): never {
  const more = problems.length > 20 ? `\n  … and ${problems.length - 20} more` : '';
  throw new LorakitError(
    'LK_EVAL',
    `task '${task.name}': ${problems.length} bad item${problems.length > 1 ? 's' : ''}:\n  - ${problems.slice(0, 20).join('\n  - ')}${more}`,
    { details: { task: task.name, problems } },
  );
}

function readRows(suite: Suite, task: TaskSpec, src: SourceSpec & { kind: 'file' | 'inline' }): Row[] {
  if (src.kind === 'inline') return src.items.map((value, i) => ({ where: `${suite.origin}: tasks.${task.name}.items[${i}]`, value }));
  const file = resolve(suite.baseDir, src.path);
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    throw new LorakitError('LK_EVAL', `task '${task.name}': cannot read '${file}': ${(e as Error).message}`, {
      cause: e,
      details: { task: task.name, file },
    });
  }
  const rows: Row[] = [], problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      rows.push({ where: `${file}:${i + 1}`, value: JSON.parse(line) });
    } catch (e) {
      problems.push(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
    }
  });
  if (problems.length) fail(task, problems);
  return rows;
}

const cap = <T>(xs: T[], task: TaskSpec): T[] => (task.maxItems !== null ? xs.slice(0, task.maxItems) : xs);

/** Documents for a perplexity task. A .txt file is one document (scored and resampled by windows). */
export function loadTexts(suite: Suite, task: TaskSpec): TextItems {
  const src = task.source;
  if (src.kind === 'builtin') {
    if (src.name === 'brown-heldout') return { texts: cap(readBrown().filter((d) => isBrownHeldOut(d.id)).map((d) => d.text), task), single: false };
    if (src.name === 'sotu-heldout') {
      return {
        texts: cap(
          readSotu({ fromYear: src.fromYear, toYear: src.toYear })
            .filter(isSotuHeldOut)
            .map((a) => a.text),
          task,
        ),
        single: false,
      };
    }
    throw new LorakitError('LK_EVAL', `task '${task.name}': builtin '${src.name}' holds choice items, not text for perplexity`);
  }
  if (src.kind === 'file' && extname(src.path).toLowerCase() !== '.jsonl') {
    const file = resolve(suite.baseDir, src.path);
    try { return { texts: [readFileSync(file, 'utf8')], single: true }; } catch (e) {
      throw new LorakitError('LK_EVAL', `task '${task.name}': cannot read '${file}': ${(e as Error).message}`, {
        cause: e,
        details: { task: task.name, file },
      });
    }
  }
  const problems: string[] = [];
  const texts = readRows(suite, task, src).flatMap(({ where, value }) => {
    const t = typeof value === 'string' ? value : (value as { text?: unknown } | null)?.text;
    if (typeof t !== 'string' || t.trim() === '') { problems.push(`${where}: expected {"text": "<non-empty string>"}`); return []; }
    return [t];
  });
  if (problems.length) fail(task, problems);
  return { texts: cap(texts, task), single: false };
}

/** {"prompt", "expected"} rows; expected is a string, a number or a list of accepted answers. */
export function loadGenerationItems(suite: Suite, task: TaskSpec): GenerationItem[] {
  if (task.source.kind === 'builtin') throw new LorakitError('LK_EVAL', `task '${task.name}': builtin sources are not generation items`);
  const problems: string[] = [];
  const items = readRows(suite, task, task.source).flatMap(({ where, value }) => {
    const v = value as { prompt?: unknown; expected?: unknown } | null;
    const exp = v?.expected;
    const expected =
      typeof exp === 'string' || typeof exp === 'number'
        ? [String(exp)]
        : Array.isArray(exp) && exp.length && exp.every((e) => typeof e === 'string' || typeof e === 'number')
          ? exp.map(String)
          : null;
    if (typeof v?.prompt !== 'string' || v.prompt === '' || !expected) {
      problems.push(`${where}: expected {"prompt": "<non-empty string>", "expected": "<string>" | <number> | [<strings>]}`);
      return [];
    }
    if (task.type === 'generation' && task.match === 'regex') {
      for (const e of expected) {
        try {
          new RegExp(e);
        } catch (err) {
          problems.push(`${where}: bad regex ${JSON.stringify(e)}: ${(err as Error).message}`);
        }
      }
    }
    if (task.type === 'generation' && task.match === 'numeric' && expected.some((e) => !Number.isFinite(Number(e))))
      problems.push(`${where}: numeric match needs a number in "expected", got ${JSON.stringify(exp)}`);
    return [{ prompt: v.prompt, expected }];
  });
  if (problems.length) fail(task, problems);
  return cap(items, task);
}

/** {"context" (or "question"), "choices": [...], "answer": index | choice text} rows. */
export function loadChoiceItems(suite: Suite, task: TaskSpec): ChoiceItem[] {
  const src = task.source;
  if (src.kind === 'builtin') {
    if (src.name !== 'brown-cloze') {
      throw new LorakitError('LK_EVAL', `task '${task.name}': builtin '${src.name}' is text for perplexity, not choice items`);
    }
    return cap(brownCloze(src.items ?? 100), task);
  }
  const problems: string[] = [];
  const items = readRows(suite, task, src).flatMap(({ where, value }) => {
    const v = value as { context?: unknown; question?: unknown; choices?: unknown; answer?: unknown } | null;
    const context = v?.context ?? v?.question;
    const choices = v?.choices;
    if (typeof context !== 'string' || !Array.isArray(choices) || choices.length < 2 || choices.some((c) => typeof c !== 'string' || c === '')) {
      problems.push(`${where}: expected {"context": "<string>", "choices": ["<2 or more non-empty strings>"], "answer": <index> | "<choice>"}`);
      return [];
    }
    const a = v!.answer;
    const answer = typeof a === 'number' ? a : typeof a === 'string' ? (choices as string[]).indexOf(a) : -1;
    if (!Number.isInteger(answer) || answer < 0 || answer >= choices.length) {
      problems.push(`${where}: 'answer' ${JSON.stringify(a)} is not an index in [0, ${choices.length}) or one of the choices`);
      return [];
    }
    return [{ context, choices: choices as string[], answer }];
  });
  if (problems.length) fail(task, problems);
  return cap(items, task);
}

/**
 * A sentence-completion cloze from the held-out Brown files: the first half of a sentence is the context, its
 * true second half one choice, and the second halves of three other sentences the distractors. Deterministic
 * (fixed seed), spread evenly over the 50 files.
 */
export function brownCloze(n: number): ChoiceItem[] {
  const docs = readBrown().filter((d) => isBrownHeldOut(d.id));
  const perDoc = Math.ceil(n / docs.length);
  const halves: { context: string; rest: string }[] = [];
  for (const d of docs) {
    const sentences = d.text.split('\n').flatMap((p) => p.match(/[^.!?]+[.!?]+["')]*(?=\s|$)/g) ?? [])
      .map((s) => s.trim().split(/\s+/)).filter((w) => w.length >= 8 && w.length <= 20);
    for (let k = 0; k < perDoc && sentences.length; k++) {
      const words = sentences[Math.floor(((k + 0.5) * sentences.length) / perDoc)];
      const cut = Math.floor(words.length / 2);
      halves.push({ context: words.slice(0, cut).join(' '), rest: words.slice(cut).join(' ') });
    }
  }
  // Spread the n items evenly over all candidates (and so over the files).
  const picked = Array.from({ length: Math.min(n, halves.length) }, (_, k) => halves[Math.floor((k * halves.length) / Math.min(n, halves.length))]);
  const rng = new Rng(0xb20c1);
  return picked.map((h) => {
    const others = new Set<string>();
    while (others.size < 3) {
      const j = rng.int(halves.length);
      if (halves[j].rest !== h.rest) others.add(halves[j].rest);
    }
    const choices = rng.shuffle([h.rest, ...others]);
    return { context: h.context, choices, answer: choices.indexOf(h.rest) };
  });
}
