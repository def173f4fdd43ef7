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

/**
 * `lorakit registry list | head`: once the reader has gone, writes to stdout fail with EPIPE, emitted as an
 * 'error' event that would otherwise crash with a stack trace. Exit quietly, as a SIGPIPE'd Unix tool does
 * (code 0 rather than 141, so `set -o pipefail` scripts do not fail on a `| head`). Installed once by main.ts.
 */
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream = process.stdout, exit: (code: number) => void = (c) => process.exit(c)): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') { exit(0); return; }
    throw e;
  });
}
