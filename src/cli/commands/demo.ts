// Placeholder replaced by the engine demo below once the engine lands.
import { defineCommand } from '../command.js';

export interface DemoFlags { json: boolean }
export const demo = defineCommand<DemoFlags>({
  name: 'demo',
  summary: 'Train a tiny transformer end to end on the engine',
  flags: { json: { help: 'JSON output', default: false } },
  async run(_flags, io) {
    io.done({ ok: true }, 'demo: engine not built yet');
  },
});
