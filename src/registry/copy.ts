// `registry migrate`: copies a whole registry from one store to another (SQLite → PostgreSQL, or back),
// rows verbatim (ids, version numbers, aliases, history, eval reports), in ONE transaction on the target, after
// copying every referenced blob; then re-hashes every blob on the target. Refuses a target that already holds
// adapters or bases, so numbers and history are never merged.
import { LorakitError } from '../errors.js';
import type { Registry } from './registry.js';
import { SqlMetadataStore } from './sql-store.js';

/** Tables in foreign-key order, with the id column whose sequence must follow explicit ids. */
const TABLES: readonly { name: string; serial?: string }[] = [
  { name: 'bases' }, { name: 'adapter_names' }, { name: 'versions', serial: 'id' }, { name: 'files' }, { name: 'aliases' },
  { name: 'tags' }, { name: 'history', serial: 'id' }, { name: 'eval_reports', serial: 'id' },
];

export interface CopyReport {
  readonly rows: Record<string, number>;
  readonly blobs: number;
  readonly blobsAdded: number;
  readonly bytes: number;
  readonly verified: number;
}

const sqlStore = (r: Registry, what: string): SqlMetadataStore => {
  if (!(r.meta instanceof SqlMetadataStore)) throw new LorakitError('LK_ARG', `registry migrate: the ${what} store is not an SQL store`);
  return r.meta;
};

export async function copyRegistry(from: Registry, to: Registry, onProgress?: (done: number, total: number) => void): Promise<CopyReport> {
  const src = sqlStore(from, 'source'), dst = sqlStore(to, 'target');
  if ((await to.meta.listBases()).length || (await to.meta.listVersions({ limit: 1 })).length) {
    throw new LorakitError('LK_CONFLICT', `the target registry ${dst.driver.location} is not empty`, {
      hint: 'migrate into a fresh database (or a new ?schema=)',
    });
  }
  // 1. bytes first (content addressed: an interrupted migrate leaves only orphan blobs on the target)
  const shas = [...(await from.meta.referencedBlobs())].sort();
  let added = 0, bytes = 0;
  for (const [i, sha] of shas.entries()) {
    const put = await to.blobs.putFile(from.blobs.locate(sha), sha); // refuses a source blob whose bytes no longer match
    if (put.added) added++;
    bytes += put.bytes;
    onProgress?.(i + 1, shas.length * 2);
  }
  // 2. every row in one target transaction
  const rows: Record<string, number> = {};
  const data = new Map<string, Record<string, unknown>[]>();
  for (const t of TABLES) data.set(t.name, await src.driver.all<Record<string, unknown>>(`SELECT * FROM ${t.name}`));
  await dst.driver.tx(async (q) => {
    await dst.driver.lock(q, 'bases');
    for (const t of TABLES) {
      const list = data.get(t.name)!;
      for (const r of list) {
        const cols = Object.keys(r);
        await q.run(`INSERT INTO ${t.name} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, ...cols.map((c) => r[c]));
      }
      if (t.serial) await dst.driver.followSerial(q, t.name, t.serial);
      rows[t.name] = list.length;
    }
  });
  // 3. re-hash every referenced blob where the target will read it
  let verified = 0;
  for (const [i, sha] of shas.entries()) {
    const c = await to.blobs.check(sha);
    if (!c.ok) {
      throw new LorakitError(
        'LK_CORRUPT',
        `blob ${c.path} ${c.missing ? 'is missing' : `hashes to ${c.actual}`} after the copy`,
        { details: { blob: sha } },
      );
    }
    verified++;
    onProgress?.(shas.length + i + 1, shas.length * 2);
  }
  return { rows, blobs: shas.length, blobsAdded: added, bytes, verified };
}
