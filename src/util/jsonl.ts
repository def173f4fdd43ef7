// Streaming JSONL: read a file line by line (constant memory) with 1-based line numbers, and append rows.
import { createReadStream, appendFileSync, mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname } from 'node:path';

export interface JsonlLine { readonly line: number; readonly text: string }

/** Yields each non-blank line of a text file with its 1-based line number. */
export async function* readLines(path: string): AsyncGenerator<JsonlLine> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (text.trim() !== '') yield { line: n, text };
  }
}

export function appendJsonl(path: string, row: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, JSON.stringify(row) + '\n');
}
