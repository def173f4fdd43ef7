// The verb table: each entry loads its command file lazily, so `lorakit --help` loads no engine.
// Nested verbs (registry add-base, data curate, runs list) are written 'group verb'.
import type { AnyCommand } from '../command.js';

export const commands: Readonly<Record<string, { summary: string; load: () => Promise<AnyCommand> }>> = {
  demo: { summary: 'Train a tiny transformer end to end on the engine (smoke test of the whole stack)', load: async () => (await import('./demo.js')).demo },
};
