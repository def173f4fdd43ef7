// `npm run bench -- registry`: time to register a 100 MB adapter (cold, then deduplicated), and to register
// and list 10,000 versions. Uses a throwaway LORAKIT_HOME under the OS temp dir.
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprintAdapterDir } from '../src/models/fingerprint.js';
import { Registry } from '../src/registry/index.js';
import type { BenchArea, BenchTable } from './types.js';

const BASE_FP = 'b'.repeat(64);

/** A PEFT folder whose adapter_model.safetensors holds `bytes` of random F32 data (written in 8 MiB chunks). */
function writeAdapter(dir: string, bytes: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'adapter_config.json'),
    JSON.stringify({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 16,
      lora_alpha: 32,
      target_modules: ['q_proj', 'v_proj'],
    }),
  );
  writeFileSync(join(dir, 'lorakit.json'), JSON.stringify({ base_fingerprint: BASE_FP }));
  const n = Math.floor(bytes / 4);
  let header = JSON.stringify({ 'base_model.model.blob.lora_A.weight': { dtype: 'F32', shape: [n], data_offsets: [0, n * 4] } });
  header += ' '.repeat((8 - (header.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const fd = openSync(join(dir, 'adapter_model.safetensors'), 'w');
  writeSync(fd, len);
  writeSync(fd, header);
  const chunk = Buffer.alloc(8 << 20);
  for (let left = n * 4; left > 0; left -= chunk.length) writeSync(fd, randomFillSync(chunk), 0, Math.min(left, chunk.length));
  closeSync(fd);
}

const ms = (t0: number): number => Math.round((performance.now() - t0) * 10) / 10;

export const bench: BenchArea = async () => {
  const root = mkdtempSync(join(tmpdir(), 'lk-bench-registry-'));
  const tables: BenchTable[] = [];
  try {
    const reg = Registry.open(join(root, 'home'));
    // --- a 100 MB adapter ---
    const MB = 100;
    writeAdapter(join(root, 'big'), MB * 1e6);
    let t0 = performance.now();
    await fingerprintAdapterDir(join(root, 'big'));
    const hashMs = ms(t0);
    rmSync(join(root, 'big'), { recursive: true }); // fresh folder so the fingerprint cache does not help the timed run
    writeAdapter(join(root, 'big'), MB * 1e6);
    t0 = performance.now();
    const cold = await reg.addAdapter(join(root, 'big'), { name: 'big' });
    const coldMs = ms(t0);
    t0 = performance.now();
    await reg.addAdapter(join(root, 'big'), { name: 'big-copy' });
    const dedupMs = ms(t0);
    t0 = performance.now();
    await reg.export(cold.version.ref, join(root, 'exported'));
    const exportMs = ms(t0);
    t0 = performance.now();
    const v = await reg.verify();
    const verifyMs = ms(t0);
    tables.push({
      title: `Register a ${MB} MB adapter`,
      rows: [
        { step: 'fingerprint only (sha256 stream)', ms: hashMs, 'MB/s': Math.round(MB / (hashMs / 1000)) },
        { step: 'add-adapter, cold (hash + copy to blobs + fsync + 1 transaction)', ms: coldMs, 'MB/s': Math.round(MB / (coldMs / 1000)) },
        { step: 'add-adapter, same bytes under another name (blobs deduplicated)', ms: dedupMs, 'MB/s': null },
        { step: 'export to a PEFT folder (re-hash while copying)', ms: exportMs, 'MB/s': Math.round(MB / (exportMs / 1000)) },
        {
          step: `verify (${v.checked} blobs, ${(v.bytes / 1e6).toFixed(0)} MB)`,
          ms: verifyMs,
          'MB/s': Math.round(v.bytes / 1e6 / (verifyMs / 1000)),
        },
      ],
      notes: ['cold = a folder not seen before (no fingerprint cache); the dedup row re-reads nothing: (path, size, mtime) cache + existing blob'],
    });
    rmSync(join(root, 'big'), { recursive: true });
    rmSync(join(root, 'exported'), { recursive: true });

    // --- 10,000 versions ---
    const N = 10_000;
    writeAdapter(join(root, 'small'), 4096);
    t0 = performance.now();
    for (let i = 0; i < N; i++) {
      await reg.addAdapter(join(root, 'small'), {
        name: `team${i % 10}/adapter`,
        allowDuplicate: true,
        metrics: { eval_loss: 1 + i / N },
      });
    }
    const regMs = ms(t0);
    const some = await reg.list({ name: 'team3/adapter' });
    await reg.setAlias(some[500].ref, 'production');
    await reg.tag(some[501].ref, 'reviewed');
    t0 = performance.now();
    const all = await reg.list();
    const listMs = ms(t0);
    t0 = performance.now();
    const one = await reg.list({ name: 'team3/adapter' });
    const listOneMs = ms(t0);
    t0 = performance.now();
    for (let i = 0; i < 1000; i++) await reg.resolve('team3/adapter@production');
    const resolveUs = Math.round(ms(t0)); // 1000 calls: ms total = µs each
    tables.push({
      title: `${N.toLocaleString('en-US')} adapter versions`,
      rows: [
        {
          operation: `register ${N} small versions (10 names, one transaction each)`,
          ms: regMs,
          'per op (ms)': Math.round((regMs / N) * 1000) / 1000,
        },
        { operation: `list all (${all.length} rows with aliases and tags)`, ms: listMs, 'per op (ms)': null },
        { operation: `list one name (${one.length} rows)`, ms: listOneMs, 'per op (ms)': null },
        { operation: "resolve 'name@production' (1000 calls)", ms: resolveUs, 'per op (ms)': resolveUs / 1000 },
      ],
    });
    await reg.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return tables;
};
