// Evaluation timing: the bundled 'general' suite (held-out Brown perplexity + cloze) on a ~9.5M-parameter
// Llama-shaped model with a byte-level tokenizer (so ~4x more tokens than a BPE model would see for the same
// text), base only and base + adapter with train/serve parity, alternating for several rounds (median). The suite is
// meant to stay well under a minute.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../test/helpers/tiny-model.js';
import { evaluate, loadSuite } from '../src/eval/index.js';
import { resolveTrainConfig } from '../src/train/config.js';
import { trainAdapter } from '../src/train/trainer.js';
import type { BenchArea, BenchCell } from './types.js';
import { modelLabel } from './reference-model.js';
import { interleave, medianOf, rounds } from './stats.js';

export const bench: BenchArea = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-bench-eval-'));
  try {
    const model = writeTinyModel(join(dir, 'model'), { hidden: 384, layers: 7, seed: 1 });
    writeFileSync(
      join(dir, 'd.jsonl'),
      Array.from({ length: 16 }, (_, i) =>
        JSON.stringify({ text: `Mr. Speaker, the state of the Union is strong, number ${i}.` }),
      ).join('\n'),
    );
    await trainAdapter(
      resolveTrainConfig({
        model,
        data: join(dir, 'd.jsonl'),
        out: join(dir, 'adapter'),
        maxSteps: 2,
        batchSize: 4,
        evalFraction: 0,
        lr: 1e-3,
      }),
    );
    const suite = loadSuite('general');
    const R = rounds();
    const once = (withAdapter: boolean) => async () => {
      const t0 = performance.now();
      const { report } = await evaluate({ modelDir: model, adapterDir: withAdapter ? join(dir, 'adapter') : undefined, suite });
      return { report, seconds: (performance.now() - t0) / 1000 };
    };
    // base and base + adapter alternate for R rounds; each timing is the median over rounds
    const runs = await interleave(R, [once(false), once(true)]);
    const rows: Record<string, BenchCell>[] = runs.map((rs, i) => {
      const { report } = rs[0];
      const task = (name: string) => medianOf(rs, (r) => r.report.timing.tasks[name]);
      return {
        model: modelLabel('tiny llama', report.model.parameters) + ' (hidden 384, 7 layers, byte tokenizer)',
        run: i === 1 ? 'base + adapter (+ parity)' : 'base only', seconds: medianOf(rs, (r) => r.seconds),
        'brown-heldout s': task('brown-heldout'), 'brown-cloze s': task('brown-cloze'),
        'parity s': i === 1 ? medianOf(rs, (r) => r.report.timing.parity ?? NaN) : null,
        'perplexity tokens': report.tasks.reduce((a, t) => a + (t.scored_tokens ?? 0), 0),
        'cloze items': report.tasks.find((t) => t.name === 'brown-cloze')?.items ?? null,
      };
    });
    return [{ title: `eval: bundled 'general' suite; median of ${R} interleaved rounds`, rows,
      notes: ['byte-level tokenizer: a BPE model scores ~4x fewer tokens for the same text; the model is smaller than the README table\'s 29.5M'] }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
