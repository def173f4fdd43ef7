// generation_config.json → typed defaults for generation (eos ids may be an int or a list). Absent file = {}.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LorakitError } from '../errors.js';

export interface GenerationConfig {
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId?: number;
  readonly padTokenId?: number;
  readonly maxNewTokens?: number;
  readonly maxLength?: number;
  readonly doSample?: boolean;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly repetitionPenalty?: number;
  /** The parsed file ({} when there is none). */
  readonly raw: Readonly<Record<string, unknown>>;
}

const ids = (v: unknown): number[] =>
  typeof v === 'number' && Number.isInteger(v) ? [v] : Array.isArray(v) ? v.filter((x): x is number => Number.isInteger(x)) : [];

export function loadGenerationConfig(modelDir: string): GenerationConfig {
  const file = join(modelDir, 'generation_config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { eosTokenIds: [], raw: {} };
    throw new LorakitError('LK_CONFIG', `cannot read '${file}': ${(e as Error).message}`, { cause: e, details: { file } });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new LorakitError('LK_CONFIG', `'${file}' must hold a JSON object`, { details: { file } });
  }
  const num = (k: string): number | undefined => (typeof raw[k] === 'number' ? (raw[k] as number) : undefined);
  const out: Record<string, unknown> = {
    eosTokenIds: ids(raw.eos_token_id), bosTokenId: ids(raw.bos_token_id)[0], padTokenId: ids(raw.pad_token_id)[0],
    maxNewTokens: num('max_new_tokens'), maxLength: num('max_length'),
    doSample: typeof raw.do_sample === 'boolean' ? raw.do_sample : undefined,
    temperature: num('temperature'), topP: num('top_p'), topK: num('top_k'), repetitionPenalty: num('repetition_penalty'), raw,
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as GenerationConfig;
}
