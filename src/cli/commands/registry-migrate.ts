// `lorakit registry migrate --from sqlite:PATH --to postgres://…`: copies a registry across stores (rows
// verbatim, blobs by hash) and re-hashes every blob on the target.
import { dirname } from 'node:path';
import { defineCommand } from '../command.js';
import { fmtBytes } from './registry-common.js';

export interface RegistryMigrateFlags { from: string; to: string; fromBlobs: string | undefined; toBlobs: string | undefined; json: boolean }
export const registryMigrate = defineCommand<RegistryMigrateFlags>({
  name: 'registry migrate',
  summary: 'Copy a whole registry to another store (e.g. SQLite to PostgreSQL), verifying every blob hash',
  example: 'lorakit registry migrate --from sqlite:~/.lorakit/registry.db --to postgres://lorakit@db:5432/lorakit --to-blobs /mnt/shared/blobs',
  flags: {
    from: { arg: '<url>', help: 'source store: sqlite:PATH or postgres://…', required: true },
    to: { arg: '<url>', help: 'target store (must hold no bases or adapters yet)', required: true },
    fromBlobs: { arg: '<dir>', help: "source blob root (default: 'blobs' beside a sqlite:PATH, else $LORAKIT_BLOB_ROOT or LORAKIT_HOME/blobs)" },
    toBlobs: { arg: '<dir>', help: 'target blob root (default: $LORAKIT_BLOB_ROOT, else LORAKIT_HOME/blobs); the same folder as the source is fine' },
    json: { help: 'JSON output', default: false },
  },
  async run(f, io) {
    const { Registry, copyRegistry, parseStoreUrl } = await import('../../registry/index.js');
    const { lorakitHome } = await import('../../track/index.js');
    const home = lorakitHome();
    const src = parseStoreUrl(f.from, home);
    const from = Registry.open(src.kind === 'sqlite' ? dirname(src.path) : home, { store: f.from, blobRoot: f.fromBlobs });
    const to = Registry.open(home, { store: f.to, blobRoot: f.toBlobs });
    try {
      let bar: ReturnType<typeof io.progress> | undefined;
      const r = await copyRegistry(from, to, (done, total) => { (bar ??= io.progress({ total, label: 'migrate', unit: 'blob steps' })).tick(done); });
      bar?.finish();
      const rows = Object.entries(r.rows).map(([t, n]) => `${t} ${n}`).join(', ');
      io.done(r, `copied ${rows}; ${r.blobs} blobs (${fmtBytes(r.bytes)}, ${r.blobsAdded} new) all verified on the target`);
    } finally {
      await from.close();
      await to.close();
    }
  },
});
