// lorakit's CLI entry: dispatches to one verb, prints LorakitError as 'error LK_CODE: message' (exit 1);
// any other error is a bug: stack trace and exit 2.
import { isLorakitError, LorakitError } from '../errors.js';
import { commands } from './commands/index.js';
import { createIO, exitQuietlyOnEpipe } from './io.js';
import { helpText, parseArgs } from './parse.js';

function topHelp(): string {
  const names = Object.keys(commands).sort();
  const w = Math.max(...names.map((n) => n.length)) + 4;
  return ['lorakit: fine-tune, version, evaluate and serve LoRA adapters', '',
    'Usage: lorakit <command> [flags]   (lorakit <command> --help for its flags)', '', 'Commands:',
    ...names.map((n) => '  ' + n.padEnd(w) + commands[n].summary)].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      process.stdout.write(topHelp() + '\n');
      return 0;
    }
    // Two-word verbs first ('registry add-base'), then one-word.
    const two = argv.length > 1 ? `${argv[0]} ${argv[1]}` : '';
    const key = two && commands[two] ? two : argv[0];
    const entry = commands[key];
    if (!entry) {
      const group = Object.keys(commands).filter((k) => k.startsWith(argv[0] + ' '));
      if (group.length) {
        process.stdout.write(`lorakit ${argv[0]} <verb>\n\n${group.map((g) => `  ${g.padEnd(28)}${commands[g].summary}`).join('\n')}\n`);
        return argv.includes('--help') || argv.includes('-h') ? 0 : 1;
      }
      throw new LorakitError('LK_ARG', `unknown command '${argv[0]}'`, { hint: "run 'lorakit --help' for the list" });
    }
    const cmd = await entry.load();
    const rest = argv.slice(key.split(' ').length);
    const parsed = parseArgs(cmd, rest);
    if (parsed.help) {
      process.stdout.write(helpText(cmd) + '\n');
      return 0;
    }
    const code = await cmd.run(parsed.flags, createIO(Boolean(parsed.flags.json)), parsed.positionals);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    if (isLorakitError(e)) {
      if (json) process.stdout.write(JSON.stringify({ error: e.toJSON() }, null, 2) + '\n');
      process.stderr.write(`error ${e.code}: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      return 1;
    }
    process.stderr.write(`lorakit: internal error (a bug; please report it)\n${(e as Error)?.stack ?? String(e)}\n`);
    return 2;
  }
}

const isEntry = process.argv[1] !== undefined && /(?:^|[\\/])(main\.[jt]s|lorakit(\.js)?)$/.test(process.argv[1]);
if (isEntry) {
  exitQuietlyOnEpipe(process.stdout);
  exitQuietlyOnEpipe(process.stderr);
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
