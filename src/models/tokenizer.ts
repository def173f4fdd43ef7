// Loads a Hugging Face tokenizer folder: tokenizer.json through @huggingface/tokenizers, the chat template
// (tokenizer_config.json `chat_template`, a list of named templates, or a chat_template.jinja file) through
// @huggingface/jinja, and the special-token ids merged from tokenizer_config.json, generation_config.json and
// config.json. Also a streaming decoder for generation. Not a trainer of tokenizers and no sentencepiece
// `tokenizer.model` support (a folder without tokenizer.json is an LK_TOKENIZER error).
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { LorakitError } from '../errors.js';

export interface ChatMessage { role: string; content: string }

export interface Tokenizer {
  /** Token ids of `text`; `addSpecialTokens` (default true) runs tokenizer.json's post_processor (e.g. adds BOS). */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`; `skipSpecialTokens` defaults to false, as in transformers. */
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** Largest token id + 1 over the base vocabulary and the added tokens (transformers' `len(tokenizer)`). */
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  /** Every id that ends generation, deduplicated: generation_config.json, then config.json, then tokenizer_config.json. */
  readonly eosTokenIds: readonly number[];
  readonly padTokenId?: number;
  readonly chatTemplate?: string;
  /**
   * Renders the chat template with `messages`, `add_generation_prompt`, the special tokens (bos_token, eos_token,
   * …) and `extra` (e.g. tools). LK_TOKENIZER when the folder has none or it fails to render.
   */
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean; extra?: Readonly<Record<string, unknown>> }): string;
  tokenToId(t: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Ids of tokens marked `special` in tokenizer.json's added_tokens. */
  readonly specialTokenIds: readonly number[];
}

type Json = Record<string, unknown>;

async function readJson(file: string, required: boolean): Promise<Json | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LorakitError('LK_TOKENIZER', `cannot read '${file}': ${(e as Error).message}`, {
      cause: e, details: { file }, hint: 'the model folder needs a tokenizer.json (fast tokenizer format)',
    });
  }
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('top level is not a JSON object');
    return v as Json;
  } catch (e) {
    throw new LorakitError('LK_TOKENIZER', `'${file}' is not valid JSON: ${(e as Error).message}`, { cause: e, details: { file } });
  }
}

/** A special token in tokenizer_config.json is a string or an AddedToken dict `{content, ...}`. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

function idList(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}

/** Picks the template: chat_template.jinja file > tokenizer_config string > the 'default' (else first) named one. */
function pickTemplate(raw: unknown, file: string): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) {
    const named = raw.filter((t): t is { name: string; template: string } =>
      !!t && typeof t === 'object' && typeof (t as Json).template === 'string');
    return (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }
  throw new LorakitError('LK_TOKENIZER', `'${file}': 'chat_template' must be a string or a list of {name, template}, got ${typeof raw}`, {
    details: { file, field: 'chat_template' },
  });
}

export async function loadTokenizer(modelDir: string): Promise<Tokenizer> {
  const tokFile = join(modelDir, 'tokenizer.json');
  const cfgFile = join(modelDir, 'tokenizer_config.json');
  const tokJson = (await readJson(tokFile, true))!;
  const tokCfg = (await readJson(cfgFile, false)) ?? {};
  const genCfg = (await readJson(join(modelDir, 'generation_config.json'), false).catch(() => undefined)) ?? {};
  const modelCfg = (await readJson(join(modelDir, 'config.json'), false).catch(() => undefined)) ?? {};

  let tok: HfTokenizer;
  try {
    tok = new HfTokenizer(tokJson, tokCfg);
  } catch (e) {
    throw new LorakitError('LK_TOKENIZER', `'${tokFile}' cannot be used as a tokenizer: ${(e as Error).message}`, {
      cause: e,
      details: { file: tokFile },
    });
  }

  const jinjaFile = join(modelDir, 'chat_template.jinja');
  let chatTemplate: string | undefined;
  let templateFile = cfgFile;
  if (existsSync(jinjaFile)) {
    chatTemplate = await readFile(jinjaFile, 'utf8').catch((e: unknown) => {
      throw new LorakitError('LK_TOKENIZER', `cannot read '${jinjaFile}': ${(e as Error).message}`, { cause: e, details: { file: jinjaFile } });
    });
    templateFile = jinjaFile;
  } else {
    chatTemplate = pickTemplate(tokCfg.chat_template, cfgFile);
  }
  let compiled: Template | undefined;
  if (chatTemplate !== undefined) {
    try {
      compiled = new Template(chatTemplate);
    } catch (e) {
      throw new LorakitError(
        'LK_TOKENIZER',
        `'${templateFile}': chat template does not parse: ${(e as Error).message}`,
        { cause: e, details: { file: templateFile } },
      );
    }
  }

  const vocab = tok.get_vocab(true);
  let maxId = -1;
  for (const id of vocab.values()) if (id > maxId) maxId = id;
  const toId = (t: string | undefined): number | undefined => (t === undefined ? undefined : tok.token_to_id(t));

  const specials: Record<string, string> = {};
  for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) {
    const c = tokenContent(tokCfg[k]);
    if (c !== undefined) specials[k] = c;
  }
  const bosTokenId = toId(specials.bos_token) ?? idList(genCfg.bos_token_id)[0] ?? idList(modelCfg.bos_token_id)[0];
  const padTokenId = toId(specials.pad_token) ?? idList(genCfg.pad_token_id)[0] ?? idList(modelCfg.pad_token_id)[0];
  const eos = [...idList(genCfg.eos_token_id), ...idList(modelCfg.eos_token_id)];
  const eosFromTok = toId(specials.eos_token);
  if (eosFromTok !== undefined) eos.push(eosFromTok);
  const eosTokenIds = [...new Set(eos)];
  const specialTokenIds = [...tok.get_added_tokens_decoder().entries()].filter(([, t]) => t.special).map(([id]) => id);
  const cleanUp = typeof tokCfg.clean_up_tokenization_spaces === 'boolean' ? tokCfg.clean_up_tokenization_spaces : false;

  return {
    vocabSize: maxId + 1,
    bosTokenId,
    eosTokenIds,
    padTokenId,
    chatTemplate,
    specialTokenIds,
    encode: (text, opts = {}) => tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids,
    decode: (ids, opts = {}) => (ids.length === 0 ? ''
      : tok.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: cleanUp })),
    tokenToId: (t) => tok.token_to_id(t),
    idToToken: (id) => tok.id_to_token(id),
    applyChatTemplate(messages, opts = {}) {
      if (!compiled) {
        throw new LorakitError('LK_TOKENIZER', `'${cfgFile}' has no chat_template (and there is no chat_template.jinja)`, {
          details: { file: cfgFile }, hint: 'use a model with a chat template, or format prompts yourself',
        });
      }
      try {
        return compiled.render({ ...specials, ...opts.extra, messages, add_generation_prompt: opts.addGenerationPrompt ?? false });
      } catch (e) {
        throw new LorakitError(
          'LK_TOKENIZER',
          `'${templateFile}': chat template failed to render: ${(e as Error).message}`,
          { cause: e, details: { file: templateFile } },
        );
      }
    },
  };
}

export interface StreamDecoder {
  /** Adds one generated id; returns the text that became printable (possibly ''). */
  push(id: number): string;
  /** Returns whatever is still held back (e.g. an incomplete UTF-8 sequence, as U+FFFD). */
  flush(): string;
}

/**
 * Incremental detokenizer (the prefix/read-offset scheme of text-generation-inference): decodes a short window
 * of recent ids and emits only the suffix that is new, holding text back while it ends in U+FFFD, i.e. while a
 * multi-byte UTF-8 character is split across tokens. The window keeps decoders that strip a leading space
 * (Metaspace) from eating spaces mid-stream.
 */
export function createStreamDecoder(tok: Tokenizer, opts: { skipSpecialTokens?: boolean } = {}): StreamDecoder {
  const skip = opts.skipSpecialTokens ?? true;
  const ids: number[] = [];
  let prefix = 0;
  let read = 0;
  const dec = (a: number, b?: number): string => tok.decode(ids.slice(a, b), { skipSpecialTokens: skip });
  return {
    push(id) {
      ids.push(id);
      const prefixText = dec(prefix, read);
      const newText = dec(prefix);
      if (newText.length > prefixText.length && !newText.endsWith('\uFFFD')) {
        prefix = read;
        read = ids.length;
        return newText.slice(prefixText.length);
      }
      return '';
    },
    flush() {
      const prefixText = dec(prefix, read);
      const newText = dec(prefix);
      prefix = read = ids.length;
      return newText.length > prefixText.length ? newText.slice(prefixText.length) : '';
    },
  };
}
