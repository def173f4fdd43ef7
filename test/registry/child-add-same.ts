// Child process for the duplicate-race test: opens the registry, prints 'ready', waits for one line on stdin
// (so that every child starts at the same moment), registers `dir` under `name` and prints the result as JSON.
// argv: home dir name
import { createInterface } from 'node:readline';
import { openRegistry } from '../helpers/store.js';

const [home, dir, name] = process.argv.slice(2);
const reg = openRegistry(home);
process.stdout.write('ready\n');
const rl = createInterface({ input: process.stdin });
await new Promise<void>((r) => rl.once('line', () => r()));
rl.close();
const r = await reg.addAdapter(dir, { name });
process.stdout.write(JSON.stringify({ ref: r.version.ref, created: r.created, fingerprint: r.version.fingerprint }) + '\n');
await reg.close();
