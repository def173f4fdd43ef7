// GPT-2's byte-level alphabet (bytes_to_unicode): every byte maps to a printable character, so a byte-level BPE
// vocabulary is a table of ordinary strings. Shared by the tokenizer trainer and the tokenizer.json writer.
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  }
  const table = new Array<string>(256);
  bs.forEach((b, i) => { table[b] = String.fromCodePoint(cs[i]); });
  return table;
}

export interface SpecialToken { readonly content: string; readonly id: number }

/**
 * A Hugging Face tokenizer.json for a byte-level BPE: ByteLevel pre-tokenizer (GPT-2 regex) and decoder,
 * vocab = 256 byte symbols + merged symbols in merge order, special tokens as added_tokens.
 */
export function byteLevelTokenizerJson(
  merges: readonly [string, string][],
  specials: readonly string[],
  opts: { addPrefixSpace?: boolean } = {},
): Record<string, unknown> {
  const alphabet = bytesToUnicode();
  const vocab: Record<string, number> = {};
  // Base alphabet ids follow byte values (id b is byte b).
  alphabet.forEach((ch, i) => { vocab[ch] = i; });
  let next = 256;
  for (const [a, b] of merges) if (vocab[a + b] === undefined) vocab[a + b] = next++;
  const added = specials.map((content) => ({
    id: next++,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const bl = { type: 'ByteLevel', add_prefix_space: opts.addPrefixSpace ?? false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: bl, post_processor: { ...bl, trim_offsets: false }, decoder: bl,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
