#!/usr/bin/env node
// The `lorakit` bin: runs the compiled CLI when `npm run build` has produced dist/, else the TypeScript
// sources through tsx (a runtime dependency), so a fresh `npm ci` checkout works without a build step.
// A dist/ older than the sources runs old code: tests therefore never spawn this bin (test/helpers/cli.ts).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
