// Child process for the kill and concurrency tests: registers `count` fresh adapters under one name,
// printing 'ready' once open and 'ok <ref>' after each registration.
// argv: home workDir name count seedOffset baseFingerprint bigFloats
import { join } from 'node:path';
import { makeAdapter } from './helpers.js';
import { openRegistry } from '../helpers/store.js';

const [home, work, name, count, seed0, baseFp, big] = process.argv.slice(2);
const reg = openRegistry(home);
process.stdout.write('ready\n');
for (let i = 0; i < Number(count); i++) {
  const seed = Number(seed0) + i;
  const dir = makeAdapter(join(work, `${process.pid}-${seed}`), { seed, baseFingerprint: baseFp, bigFloats: Number(big) });
  const r = await reg.addAdapter(dir, { name });
  process.stdout.write(`ok ${r.version.ref}\n`);
}
await reg.close();
