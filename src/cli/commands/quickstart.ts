// lorakit quickstart (npm run quickstart): the whole product end to end on the bundled base model.
import { defineCommand } from '../command.js';
import { existingDir, nonNegativeInt, positiveInt } from '../parse.js';
import { type QuantFlags, quantFlags, quantOptions } from '../quant-flags.js';

export interface QuickstartFlags extends QuantFlags {
  model: string; out: string; fast: boolean; seed: number; steps: number | undefined; overwrite: boolean; json: boolean;
}

export const quickstart = defineCommand<QuickstartFlags>({
  name: 'quickstart',
  summary: 'Curate → fine-tune → evaluate + gate → register → compare generations, on the bundled base model',
  example: 'npm run quickstart   (or: lorakit quickstart --out my-first-run)',
  flags: {
    model: { arg: '<dir>', help: 'base model folder', default: 'models/brown-llama', parse: existingDir },
    out: { arg: '<dir>', help: "output folder (new, empty, or an earlier quickstart's, which is replaced)", default: 'lorakit-quickstart' },
    overwrite: { help: 'replace a non-empty --out folder quickstart did not write (never --model)', default: false },
    fast: { help: 'a minute-long version with the same steps (used by the test suite)', default: false },
    seed: { arg: '<n>', help: 'seed for curation split, initialisation and shuffling', default: 0, parse: nonNegativeInt },
    steps: { arg: '<n>', help: 'training steps (default 120, 6 with --fast)', parse: positiveInt },
    ...quantFlags,
    json: { help: 'print a JSON summary at the end', default: false },
  },
  async run(f, io) {
    const { runQuickstart } = await import('../quickstart/run.js');
    const opts = { model: f.model, out: f.out, fast: f.fast, seed: f.seed, steps: f.steps, overwrite: f.overwrite, quantize: quantOptions(f) };
    const summary = await runQuickstart(opts, io);
    io.done(summary);
  },
});
