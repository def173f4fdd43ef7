// The CommandIO given to each verb: human text or JSON on stdout, progress on stderr.
import { createProgress } from '../util/progress.js';
import type { CommandIO } from './command.js';

export function createIO(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): CommandIO {
  return {
    json,
    stdout,
    stderr,
    log(text) {
      if (!json) stdout.write(text + '\n');
    },
    done(result, summary) {
      if (json) stdout.write(JSON.stringify(result, null, 2) + '\n');
      else if (summary) stdout.write(summary + '\n');
    },
    progress(opts) {
      return createProgress({ ...opts, json, stream: stderr as NodeJS.WritableStream & { isTTY?: boolean } });
    },
  };
}
