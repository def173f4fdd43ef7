// Suites that ship with lorakit, by name (`lorakit eval --suite general`). Kept as TypeScript objects in the
// suite file format (snake_case keys) so they are compiled into the package with no asset copying.
import { general } from './general.js';
import { sotu } from './sotu.js';

export const bundledSuites: Readonly<Record<string, unknown>> = { general, sotu };
