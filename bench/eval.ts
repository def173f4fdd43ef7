// Evaluation timing: the bundled 'general' suite (held-out Brown perplexity + cloze) on a ~9.5M-parameter
// Llama-shaped model with a byte-level tokenizer (so ~4x more tokens than a BPE model would see for the same
// text), base only and base + adapter with train/serve parity. The suite is meant to stay well under a minute.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../test/helpers/tiny-model.js';
import { evaluate, loadSuite } from '../src/eval/index.js';
import { resolveTrainConfig } from '../src/train/config.js';
import { trainAdapter } from '../src/train/trainer.js';
import type { BenchArea, BenchCell } from './types.js';

export const bench: BenchArea = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-bench-eval-'));
  try {
    const model = writeTinyModel(join(dir, 'model'), { hidden: 384, layers: 7, seed: 1 });
    writeFileSync(join(dir, 'd.jsonl'), Array.from({ length: 16 }, (_, i) => JSON.stringify({ text: `Mr. Speaker, the state of the Union is strong, number ${i}.` })).join('\n'));
    await trainAdapter(resolveTrainConfig({ model, data: join(dir, 'd.jsonl'), out: join(dir, 'adapter'), maxSteps: 2, batchSize: 4, evalFraction: 0, lr: 1e-3 }));
    const suite = loadSuite('general');
    const rows: Record<string, BenchCell>[] = [];
    for (const withAdapter of [false, true]) {
      const t0 = performance.now();
      const { report } = await evaluate({ modelDir: model, adapterDir: withAdapter ? join(dir, 'adapter') : undefined, suite });
      const seconds = (performance.now() - t0) / 1000;
      const tokens = report.tasks.reduce((a, t) => a + (t.scored_tokens ?? 0), 0);
      rows.push({
        run: withAdapter ? 'base + adapter (+ parity)' : 'base only', parameters: report.model.parameters, seconds,
        'brown-heldout s': report.timing.tasks['brown-heldout'], 'brown-cloze s': report.timing.tasks['brown-cloze'], 'parity s': report.timing.parity,
        'perplexity tokens': tokens, 'cloze items': report.tasks.find((t) => t.name === 'brown-cloze')?.items ?? null,
      });
    }
    return [{ title: "eval: bundled 'general' suite", rows, notes: ['byte-level tokenizer: a BPE model scores ~4x fewer tokens for the same text'] }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
