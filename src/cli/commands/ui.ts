// `lorakit ui [--port N]`: the dashboard (runs, curves, adapters by base, lineage) on a local HTTP server.
import { defineCommand } from '../command.js';
import { nonNegativeInt } from '../parse.js';
import { storeFlag } from './registry-common.js';

export interface UiFlags { port: number; host: string; store: string | undefined; json: boolean }
export const ui = defineCommand<UiFlags>({
  name: 'ui',
  summary: 'Serve the dashboard: runs table, loss curves, adapters by base, lineage (read-only)',
  example: 'lorakit ui --port 7860',
  flags: {
    port: { arg: '<port>', help: 'TCP port (0 picks a free one)', default: 7860, parse: nonNegativeInt },
    host: { arg: '<host>', help: 'Address to listen on (0.0.0.0 exposes it to the network)', default: '127.0.0.1' },
    store: storeFlag,
    json: { help: 'Print the URL as JSON', default: false },
  },
  async run(flags, io) {
    const [{ Tracker }, { Registry }, { startDashboard }] = await Promise.all([
      import('../../track/index.js'),
      import('../../registry/index.js'),
      import('../../ui/index.js'),
    ]);
    const tracker = await Tracker.open(undefined, { store: flags.store });
    const registry = Registry.open(undefined, { store: flags.store });
    const server = await startDashboard({ tracker, registry, port: flags.port, host: flags.host });
    io.done({ url: server.url, home: tracker.home }, `lorakit dashboard on ${server.url} (LORAKIT_HOME ${tracker.home}); Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      const stop = (): void => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    await tracker.close();
    await registry.close();
  },
});
