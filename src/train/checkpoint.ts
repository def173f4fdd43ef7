// Resumable training checkpoints: adapter tensors, AdamW moments, step, data position and RNG state, written as
// one folder (state.safetensors + state.json) into place atomically; the newest complete one wins on --resume.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LorakitError } from '../errors.js';
import { openSafetensors } from '../models/safetensors.js';
import { writeSafetensors } from '../models/safetensors-write.js';

export interface TrainState {
  readonly step: number;
  readonly epoch: number;
  /** Index of the next batch within the epoch's order. */
  readonly batchInEpoch: number;
  readonly rng: readonly number[];
  readonly bestEvalLoss: number | null;
  readonly evalsWithoutImprovement: number;
  readonly tokensSeen: number;
  readonly configHash: string;
  readonly baseFingerprint: string;
}

export interface CheckpointData {
  readonly state: TrainState;
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly m: readonly Float32Array[];
  readonly v: readonly Float32Array[];
}

export function saveCheckpoint(
  runDir: string, names: readonly string[], dims: readonly (readonly number[])[], data: CheckpointData, keep = 2,
): string {
  const root = join(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const name = `step-${String(data.state.step).padStart(7, '0')}`;
  const tmp = join(root, `.${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const tensors = names.flatMap((n, i) => [
    { name: `param.${n}`, dtype: 'F32' as const, shape: dims[i], data: data.params.get(n)! },
    { name: `adam_m.${n}`, dtype: 'F32' as const, shape: dims[i], data: data.m[i] },
    { name: `adam_v.${n}`, dtype: 'F32' as const, shape: dims[i], data: data.v[i] },
  ]);
  writeSafetensors(join(tmp, 'state.safetensors'), tensors);
  writeFileSync(join(tmp, 'state.json'), JSON.stringify(data.state, null, 2) + '\n');
  const final = join(root, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) rmSync(join(root, old), { recursive: true, force: true });
  return final;
}

export function listCheckpoints(runDir: string): string[] {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((n) => /^step-\d+$/.test(n) && existsSync(join(root, n, 'state.json'))).sort();
}

export function loadLatestCheckpoint(runDir: string, names: readonly string[]): CheckpointData | null {
  const all = listCheckpoints(runDir);
  if (all.length === 0) return null;
  const dir = join(runDir, 'checkpoints', all[all.length - 1]);
  let state: TrainState;
  try {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as TrainState;
  } catch (e) {
    throw new LorakitError('LK_CHECKPOINT', `checkpoint '${dir}/state.json' is unreadable: ${(e as Error).message}`, { cause: e });
  }
  const st = openSafetensors(join(dir, 'state.safetensors'));
  try {
    const missing = names.filter((n) => !st.tensors.has(`param.${n}`));
    if (missing.length) {
      throw new LorakitError(
        'LK_CHECKPOINT',
        `checkpoint '${dir}' does not hold ${missing.length} adapter tensor(s) of this run, e.g. '${missing[0]}'`,
        { hint: 'the LoRA config changed since the checkpoint was written' },
      );
    }
    return {
      state,
      params: new Map(names.map((n) => [n, st.readFloat32(`param.${n}`)])),
      m: names.map((n) => st.readFloat32(`adam_m.${n}`)),
      v: names.map((n) => st.readFloat32(`adam_v.${n}`)),
    };
  } finally {
    st.close();
  }
}

/**
 * The run folder at the start of a run: with --resume, its newest checkpoint (null when it has none); without, the
 * checkpoints of any earlier run are deleted, so that a later --resume never continues stale state.
 */
export function openRunDir(runDir: string, names: readonly string[], resume: boolean): CheckpointData | null {
  const ck = resume ? loadLatestCheckpoint(runDir, names) : null;
  if (!resume) rmSync(join(runDir, 'checkpoints'), { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  return ck;
}

/** Copies a checkpoint's tensors and AdamW moments into the live arrays, which follow the order of `names`. */
export function restoreTensors(
  ck: CheckpointData, names: readonly string[], params: readonly Float32Array[], m: readonly Float32Array[], v: readonly Float32Array[],
): void {
  names.forEach((n, i) => { params[i].set(ck.params.get(n)!); m[i].set(ck.m[i]); v[i].set(ck.v[i]); });
}
