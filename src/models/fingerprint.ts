// Content fingerprints of a Hugging Face model folder and of a PEFT adapter folder, for the registry and for
// compatibility checks ("was this adapter trained on this base?"). Not a loader: it streams files through
// sha256 and reads only the JSON headers of safetensors files (8-byte little-endian length + JSON).
//
// A base fingerprint covers what changes the model's function: weights, the architecture config (minus keys
// that are bookkeeping, e.g. `_name_or_path`), tokenizer.json, the chat template and the eos ids. A dtype change
// changes the weight bytes anyway, so `torch_dtype` is dropped from the config hash.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import { sha256, sha256File, stableStringify } from '../util/hash.js';

export interface FileDigest { readonly name: string; readonly sha256: string; readonly bytes: number }

export interface ModelFingerprint {
  /** sha256 hex of the stable JSON of the parts below (weights, config, tokenizer, template, eos, architecture). */
  readonly fingerprint: string;
  readonly weightsSha256: string;
  readonly configSha256: string;
  /** sha256 of tokenizer.json (or tokenizer.model); '' when the folder has neither. */
  readonly tokenizerSha256: string;
  readonly chatTemplateSha256?: string;
  readonly eosTokenIds: number[];
  /** config.architectures[0], else model_type. */
  readonly architecture: string;
  readonly modelType?: string;
  /** Parameter count summed from the safetensors headers. */
  readonly parameters: number;
  /** Tensor dtypes seen in the safetensors headers, sorted. */
  readonly dtypes: string[];
  /** Every regular, non-hidden file at the top of the folder (what the registry stores). */
  readonly files: FileDigest[];
}

export interface AdapterFingerprint {
  /** sha256 hex of the stable JSON of {adapter config (semantic keys), weights}. */
  readonly fingerprint: string;
  readonly weightsSha256: string;
  readonly configSha256: string;
  /** adapter_config.json as parsed. */
  readonly loraConfig: Record<string, unknown>;
  readonly parameters: number;
  readonly dtypes: string[];
  /** The trainer's lorakit.json ({base_fingerprint, dataset_fingerprint, run_id, config, metrics}) if present. */
  readonly lorakit?: LorakitAdapterMeta;
  readonly files: FileDigest[];
}

/** lorakit.json beside an adapter: its lineage and how it was made (written by the trainer and `adapter import`). */
export interface LorakitAdapterMeta {
  readonly base_fingerprint?: string;
  /** The base folder as given at training time (for messages; the fingerprint is what is checked). */
  readonly base_model?: string;
  /**
   * The precision of the base the adapter was trained on: 'none' (float) or a quantization label such as
   * 'int4-b32-sym-acc8'. The fingerprint names the weights on disk; this names what the kernels multiplied by.
   */
  readonly base_quantization?: string;
  readonly dataset_fingerprint?: string;
  readonly run_id?: string;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly created_at?: string;
  readonly lorakit_version?: string;
  /** How the base binding was established ('fingerprint' | 'name' | 'unverified' | 'mismatch-allowed'; issue 13). */
  readonly base_binding?: {
    readonly status: string; readonly adapter_base_model?: string | null; readonly checked_at?: string; readonly detail?: string;
  };
  /** `adapter import --allow-base-mismatch`: the base the user accepted this adapter for, despite its name. */
  readonly base_override?: { readonly fingerprint: string; readonly base_model?: string; readonly allowed_at?: string };
  /** `registry export`: the version this folder was written from. */
  readonly registry_ref?: string;
}

/** Keys of config.json that do not change what the model computes. */
const NON_SEMANTIC_CONFIG_KEYS = [
  '_name_or_path', 'transformers_version', 'torch_dtype', 'dtype', 'use_cache', '_commit_hash', '_attn_implementation',
  'attn_implementation',
];
/** Keys of adapter_config.json that are paths or runtime switches. */
const NON_SEMANTIC_ADAPTER_KEYS = ['base_model_name_or_path', 'inference_mode', 'revision'];

// ---- per-file hash cache keyed by (path, size, mtime): re-registering an unchanged folder re-reads nothing ----
const fileHashCache = new Map<string, { size: number; mtimeMs: number; sha: string }>();

function digestFile(dir: string, name: string): FileDigest {
  const path = resolve(dir, name);
  const st = statSync(path);
  const hit = fileHashCache.get(path);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return { name, sha256: hit.sha, bytes: st.size };
  const sha = sha256File(path);
  fileHashCache.set(path, { size: st.size, mtimeMs: st.mtimeMs, sha });
  return { name, sha256: sha, bytes: st.size };
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LorakitError('LK_IO', `'${dir}' is not a folder`, { details: { file: dir } });
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

function readJson(dir: string, name: string, code: 'LK_CONFIG' | 'LK_ADAPTER' | 'LK_TOKENIZER'): Record<string, unknown> | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) return undefined;
  try {
    const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('top level is not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new LorakitError(code, `${path}: invalid JSON: ${(e as Error).message}`, { details: { file: path } });
  }
}

export interface SafetensorsSummary { readonly parameters: number; readonly dtypes: string[] }

/** Reads only the header of a safetensors file: 8-byte little-endian length, then that many bytes of JSON. */
export function readSafetensorsSummary(path: string): SafetensorsSummary {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const lenBuf = Buffer.alloc(8);
    if (size < 8 || readSync(fd, lenBuf, 0, 8, 0) !== 8) {
      throw new LorakitError(
        'LK_SAFETENSORS',
        `${path}: file is ${size} bytes, shorter than the 8-byte header length`,
        { details: { file: path } },
      );
    }
    const len = lenBuf.readBigUInt64LE(0);
    if (len > BigInt(size - 8) || len > 100_000_000n) {
      throw new LorakitError(
        'LK_SAFETENSORS',
        `${path}: header length ${len} is out of range [0, ${Math.min(size - 8, 100_000_000)}]`,
        { details: { file: path } },
      );
    }
    const hdr = Buffer.alloc(Number(len));
    readSync(fd, hdr, 0, hdr.length, 8);
    let header: Record<string, { dtype?: string; shape?: number[] }>;
    try { header = JSON.parse(hdr.toString('utf8')); } catch (e) {
      throw new LorakitError('LK_SAFETENSORS', `${path}: header is not valid JSON: ${(e as Error).message}`, { details: { file: path } });
    }
    let parameters = 0;
    const dtypes = new Set<string>();
    for (const [k, t] of Object.entries(header)) {
      if (k === '__metadata__') continue;
      if (!t || !Array.isArray(t.shape) || typeof t.dtype !== 'string') {
        throw new LorakitError('LK_SAFETENSORS', `${path}: tensor '${k}' has no dtype/shape in the header`, {
          details: { file: path, tensor: k },
        });
      }
      parameters += t.shape.reduce((a, b) => a * b, 1);
      dtypes.add(t.dtype);
    }
    return { parameters, dtypes: [...dtypes].sort() };
  } finally {
    closeSync(fd);
  }
}

function weightsPart(
  dir: string,
  digests: Map<string, FileDigest>,
  names: string[],
): { weightsSha256: string; parameters: number; dtypes: string[] } {
  let parameters = 0;
  const dtypes = new Set<string>();
  for (const n of names) {
    const s = readSafetensorsSummary(join(dir, n));
    parameters += s.parameters;
    s.dtypes.forEach((d) => dtypes.add(d));
  }
  // Hash of the per-file hashes in sorted name order: equal to hashing the bytes in order, without a second read.
  const weightsSha256 = sha256(stableStringify(names.map((n) => digests.get(n)!.sha256)));
  return { weightsSha256, parameters, dtypes: [...dtypes].sort() };
}

const omit = (o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

const asIds = (v: unknown): number[] => (typeof v === 'number' ? [v] : Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);

/** Fingerprints a Hugging Face model folder (config.json + *.safetensors [+ tokenizer files]). */
export async function fingerprintModelDir(dir: string): Promise<ModelFingerprint> {
  const names = listFiles(dir);
  const config = readJson(dir, 'config.json', 'LK_CONFIG');
  if (!config) {
    throw new LorakitError('LK_CONFIG', `${join(dir, 'config.json')}: missing; a model folder needs config.json`, {
      details: { file: join(dir, 'config.json') },
    });
  }
  const weights = names.filter((n) => n.endsWith('.safetensors'));
  if (weights.length === 0) {
    const pickle = names.filter((n) => /\.(bin|pt|pth|ckpt)$/.test(n));
    throw new LorakitError('LK_WEIGHTS',
      `${dir}: no *.safetensors weights${pickle.length ? ` (found pickle files ${pickle.join(', ')}, which lorakit does not load)` : ''}`,
      { hint: pickle.length ? 'convert the checkpoint to safetensors (e.g. transformers save_pretrained(safe_serialization=True))' : undefined,
        details: { file: dir } });
  }
  const digests = new Map(names.map((n) => [n, digestFile(dir, n)] as const));
  const w = weightsPart(dir, digests, weights);
  const configSha256 = sha256(stableStringify(omit(config, NON_SEMANTIC_CONFIG_KEYS)));
  const tokName = names.includes('tokenizer.json') ? 'tokenizer.json' : names.includes('tokenizer.model') ? 'tokenizer.model' : undefined;
  const tokenizerSha256 = tokName ? digests.get(tokName)!.sha256 : '';
  const tokConfig = readJson(dir, 'tokenizer_config.json', 'LK_TOKENIZER');
  let template: unknown = tokConfig?.chat_template;
  if (template === undefined && names.includes('chat_template.jinja')) template = readFileSync(join(dir, 'chat_template.jinja'), 'utf8');
  const chatTemplateSha256 = template === undefined || template === null ? undefined : sha256(stableStringify(template));
  const gen = readJson(dir, 'generation_config.json', 'LK_CONFIG');
  const eosTokenIds = [...new Set(asIds(gen?.eos_token_id ?? config.eos_token_id))].sort((a, b) => a - b);
  const modelType = typeof config.model_type === 'string' ? config.model_type : undefined;
  const archs = Array.isArray(config.architectures) ? config.architectures : [];
  const architecture = typeof archs[0] === 'string' ? archs[0] : modelType ?? 'unknown';
  const fingerprint = sha256(
    stableStringify({
      weights: w.weightsSha256,
      config: configSha256,
      tokenizer: tokenizerSha256,
      chatTemplate: chatTemplateSha256 ?? null,
      eos: eosTokenIds,
      architecture,
    }),
  );
  return {
    fingerprint, weightsSha256: w.weightsSha256, configSha256, tokenizerSha256, ...(chatTemplateSha256 ? { chatTemplateSha256 } : {}),
    eosTokenIds, architecture, ...(modelType ? { modelType } : {}), parameters: w.parameters, dtypes: w.dtypes, files: [...digests.values()],
  };
}

/** Fingerprints a PEFT adapter folder (adapter_config.json + adapter_model.safetensors [+ lorakit.json]). */
export async function fingerprintAdapterDir(dir: string): Promise<AdapterFingerprint> {
  const names = listFiles(dir);
  const cfgPath = join(dir, 'adapter_config.json');
  const loraConfig = readJson(dir, 'adapter_config.json', 'LK_ADAPTER');
  if (!loraConfig) {
    throw new LorakitError('LK_ADAPTER', `${cfgPath}: missing; a PEFT adapter folder needs adapter_config.json`, {
      details: { file: cfgPath },
    });
  }
  if (!names.includes('adapter_model.safetensors')) {
    const pickle = names.includes('adapter_model.bin');
    throw new LorakitError('LK_ADAPTER', pickle
      ? `${join(dir, 'adapter_model.bin')}: pickle adapters are refused (loading pickle can run arbitrary code); ` +
        'adapter_model.safetensors is required'
      : `${join(dir, 'adapter_model.safetensors')}: missing`, {
      hint: pickle ? "convert it once in Python: PeftModel.from_pretrained(...).save_pretrained(dir, safe_serialization=True)" : undefined,
      details: { file: join(dir, pickle ? 'adapter_model.bin' : 'adapter_model.safetensors') },
    });
  }
  const stored = names.filter((n) => n !== 'adapter_model.bin');
  const digests = new Map(stored.map((n) => [n, digestFile(dir, n)] as const));
  const w = weightsPart(dir, digests, ['adapter_model.safetensors']);
  const configSha256 = sha256(stableStringify(omit(loraConfig, NON_SEMANTIC_ADAPTER_KEYS)));
  const meta = readJson(dir, 'lorakit.json', 'LK_ADAPTER') as LorakitAdapterMeta | undefined;
  const fingerprint = sha256(stableStringify({ config: configSha256, weights: w.weightsSha256 }));
  return {
    fingerprint,
    weightsSha256: w.weightsSha256,
    configSha256,
    loraConfig,
    parameters: w.parameters,
    dtypes: w.dtypes,
    ...(meta ? { lorakit: meta } : {}),
    files: [...digests.values()],
  };
}
