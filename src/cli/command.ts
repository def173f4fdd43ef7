// The shape of a CLI verb. Flags<F> is a mapped type: every field of a command's flags interface needs an
// entry (with help text), so a config field without a CLI flag does not compile (cf. vitest CLIOptions).
import type { Progress, ProgressOptions } from '../util/progress.js';

export type FlagValue = string | number | boolean | string[] | undefined;

export interface FlagSpec<T> {
  /** Placeholder shown in --help, e.g. '<dir>'. Absent for boolean switches. */
  readonly arg?: string;
  readonly help: string;
  readonly default?: T;
  /** Turns the raw string(s) into the typed value; throws LorakitError('LK_ARG') on bad input. */
  readonly parse?: (raw: string, flag: string) => T;
  /** The flag may be repeated; values are collected into an array. */
  readonly repeatable?: boolean;
  readonly required?: boolean;
  /** A single-letter alias, e.g. 'o' for -o. */
  readonly short?: string;
}

export type Flags<F> = { readonly [K in keyof F]-?: FlagSpec<F[K]> };

export interface CommandIO {
  readonly json: boolean;
  /** Human output (stdout). Suppressed in --json mode. */
  log(text: string): void;
  /** Final result: JSON on stdout with --json, else the human summary line. */
  done(result: unknown, summary?: string): void;
  progress(opts: Omit<ProgressOptions, 'json'>): Progress;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export interface Command<F> {
  readonly name: string;
  readonly summary: string;
  readonly example?: string;
  readonly usage?: string;
  readonly flags: Flags<F>;
  /** Names of positional arguments, shown in help; collected into `flags._` if declared there. */
  readonly positionals?: string;
  run(flags: F, io: CommandIO, positionals: string[]): Promise<number | void>;
}

/** A command with its flag type erased, for the dispatch table. */
export interface AnyCommand {
  readonly name: string;
  readonly summary: string;
  readonly example?: string;
  readonly positionals?: string;
  readonly flags: Readonly<Record<string, FlagSpec<unknown>>>;
  run(flags: Record<string, unknown>, io: CommandIO, positionals: string[]): Promise<number | void>;
}

export function defineCommand<F>(c: Command<F>): AnyCommand {
  return c as unknown as AnyCommand;
}
