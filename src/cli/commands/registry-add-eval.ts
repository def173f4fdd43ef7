// `lorakit registry add-eval <ref> --report FILE`: attach an evaluation report to a version. The registry refuses a
// report without the fingerprints of the adapter and base it scored, or with fingerprints of another version (issue 13).
import { readFileSync } from 'node:fs';
import { LorakitError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { existingFile } from '../parse.js';
import { needPositionals, storeFlag } from './registry-common.js';

export interface RegistryAddEvalFlags { report: string; store: string | undefined; json: boolean }
export const registryAddEval = defineCommand<RegistryAddEvalFlags>({
  name: 'registry add-eval',
  summary: 'Attach an evaluation report (report.json of lorakit eval) to the adapter version it scored',
  positionals: '<ref>',
  example: 'lorakit registry add-eval support@v3 --report eval/smoke.json',
  flags: {
    report: { arg: '<file>', help: 'report.json of lorakit eval (suite, passed, and the adapter and model fingerprints it scored)',
      required: true, parse: existingFile },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    const [ref] = needPositionals('registry add-eval', positionals, ['<ref>']);
    let report: unknown;
    try { report = JSON.parse(readFileSync(flags.report, 'utf8')); } catch (e) {
      throw new LorakitError('LK_ARG', `${flags.report}: not JSON: ${(e as Error).message}`, { details: { file: flags.report } });
    }
    const { Registry } = await import('../../registry/index.js');
    const reg = Registry.open(undefined, { store: flags.store });
    try {
      const r = await reg.addEvalReport(ref, report as { suite: string; passed: boolean });
      io.done(r, `attached ${r.suite} (${r.passed ? 'passed' : 'failed'}) to ${(await reg.resolve(ref)).ref}`);
    } finally { await reg.close(); }
  },
});
