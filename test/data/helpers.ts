// Shared helpers for the data tests: temp folders and JSONL reading.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'lk-data-'));
export const readJsonl = <T = Record<string, unknown>>(file: string): T[] =>
  readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
