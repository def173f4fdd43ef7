// Training config: a YAML file is equivalent to flags (CLI > file > defaults), unknown keys and bad values are
// refused with every problem named; the CLI parser maps argv to typed flags without side effects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readTrainConfigFile, resolveTrainConfig, trainDefaults } from '../../src/train/config.js';
import { parseArgs } from '../../src/cli/parse.js';
import { train } from '../../src/cli/commands/train.js';
import { isLorakitError } from '../../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-cfg-'));

test('a YAML config file equals the same flags; flags win over the file; defaults fill the rest', () => {
  const file = join(tmp, 'train.yaml');
  writeFileSync(
    file,
    'model: m\ndata: d.jsonl\nout: o\nrank: 4\nlora-alpha: 8\ntarget_modules: [q_proj, k_proj]\nlr: 0.001\n'.replace('lora-alpha', 'alpha'),
  );
  const fromFile = resolveTrainConfig(readTrainConfigFile(file));
  const parsed = parseArgs(train, [
    '--model', 'm', '--data', 'd.jsonl', '--out', 'o', '--rank', '4', '--alpha', '8',
    '--target-modules', 'q_proj,k_proj', '--lr', '0.001',
  ]).flags;
  const { config: _c, resume: _r, json: _j, noTrack: _n, ...flags } = parsed;
  assert.deepEqual(resolveTrainConfig(flags), fromFile);
  assert.equal(fromFile.batchSize, trainDefaults.batchSize);
  const both = resolveTrainConfig(readTrainConfigFile(file), { rank: 32 });
  assert.equal(both.rank, 32);
  assert.equal(both.alpha, 8);
});

test('unknown keys and bad values are refused, every problem named', () => {
  const file = join(tmp, 'bad.yaml');
  writeFileSync(file, 'model: m\nranck: 4\n');
  assert.throws(() => readTrainConfigFile(file), (e: unknown) => isLorakitError(e, 'LK_TRAIN_CONFIG') && /'ranck'/.test(e.message));
  assert.throws(() => resolveTrainConfig({ model: 'm', data: 'd', out: 'o', rank: 0, lr: -1, schedule: 'cyclic' as never }),
    (e: unknown) => isLorakitError(e, 'LK_TRAIN_CONFIG') && /'rank'/.test(e.message) && /'lr'/.test(e.message) && /'schedule'/.test(e.message));
  assert.throws(
    () => parseArgs(train, ['--rank', 'x']),
    (e: unknown) => isLorakitError(e, 'LK_ARG') && /'--rank' must be a positive integer/.test(e.message),
  );
  assert.throws(() => parseArgs(train, ['--bogus']), (e: unknown) => isLorakitError(e, 'LK_ARG') && /unknown flag '--bogus'/.test(e.message));
});

test('--gradient-checkpointing: flag, config-file key (any case) and library field agree; a non-boolean is refused', () => {
  const file = join(tmp, 'ckpt.yaml');
  writeFileSync(file, 'model: m\ndata: d.jsonl\nout: o\ngradient_checkpointing: true\n');
  assert.equal(resolveTrainConfig(readTrainConfigFile(file)).gradientCheckpointing, true);
  const argv = ['--model', 'm', '--data', 'd.jsonl', '--out', 'o', '--gradient-checkpointing'];
  const { config: _c, resume: _r, json: _j, noTrack: _n, ...flags } = parseArgs(train, argv).flags;
  assert.equal(resolveTrainConfig(flags).gradientCheckpointing, true);
  assert.equal(resolveTrainConfig({ model: 'm', data: 'd', out: 'o' }).gradientCheckpointing, false);
  assert.throws(() => resolveTrainConfig({ model: 'm', data: 'd', out: 'o', gradientCheckpointing: 'yes' as never }),
    (e: unknown) => isLorakitError(e, 'LK_TRAIN_CONFIG') && /'gradient-checkpointing'/.test(e.message));
});
