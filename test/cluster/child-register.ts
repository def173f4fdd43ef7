// Child process for the cluster test: writes one LoRA adapter for the base per shared name and registers it on
// the PostgreSQL store, printing 'ok <ref>' after each. Two of these run at once under the same names.
// argv: storeUrl blobRoot home baseDir baseFingerprint workDir seedOffset names(comma-separated)
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { defaultLoraTargets, linearModules } from '../../src/models/modules.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { writeAdapter } from '../../src/lora/peft-io.js';
import { Registry } from '../../src/registry/index.js';

const [store, blobRoot, home, baseDir, baseFp, work, seed0, names] = process.argv.slice(2);
const ck = await loadCheckpoint(baseDir, { tokenizer: false });
const cfg = parseLoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] }, 'cluster-test', defaultLoraTargets(ck.config));
const sites = resolveSites(cfg, linearModules(ck.config));
const reg = Registry.open(home, { store, blobRoot });
for (const [i, name] of names.split(',').entries()) {
  const seed = Number(seed0) + i;
  const dir = join(work, `${process.pid}-${seed}`);
  writeAdapter(dir, { config: cfg, tensors: initLoraTensors(sites, false, seed) }, { base_fingerprint: baseFp });
  const r = await reg.addAdapter(dir, { name });
  process.stdout.write(`ok ${r.version.ref}\n`);
}
await reg.close();
