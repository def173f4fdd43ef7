// Tokenizer: exact ids against the golden {text, ids} tables (made by an independent Python byte-level BPE),
// special ids merged from three files, chat templates from all three sources, streaming decode, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStreamDecoder, loadTokenizer } from '../../src/models/tokenizer.js';
import { expectError, MODELS, modelDir, readGolden, tmp } from './fixture-models.js';

test('token ids, special-token ids and decode match the golden tables for every fixture', async () => {
  for (const m of MODELS) {
    const g = readGolden(m);
    const tok = await loadTokenizer(modelDir(m));
    for (const row of g.tokenizer) {
      assert.deepEqual(tok.encode(row.text, { addSpecialTokens: false }), row.ids, `${m}: ${JSON.stringify(row.text)}`);
      assert.deepEqual(tok.encode(row.text), row.ids_with_special, `${m} (special): ${JSON.stringify(row.text)}`);
      assert.equal(tok.decode(row.ids), row.decoded);
      assert.deepEqual(row.tokens.map((t) => tok.tokenToId(t)), row.ids);
    }
    assert.equal(tok.vocabSize, g.special_tokens.vocab_size);
    assert.deepEqual([...tok.eosTokenIds].sort((a, b) => a - b), g.special_tokens.eos_token_ids_merged, m);
    assert.equal(tok.bosTokenId, g.special_tokens.bos === null ? undefined : tok.tokenToId(g.special_tokens.bos));
    assert.equal(tok.padTokenId, g.special_tokens.pad === null ? undefined : tok.tokenToId(g.special_tokens.pad));
    // The batch prompts of golden.safetensors come from the same tokenizer.
    for (const [b, text] of g.batch.texts.entries()) {
      const n = g.batch.attention_mask[b].reduce((a, x) => a + x, 0);
      assert.deepEqual(tok.encode(text), g.batch.input_ids[b].slice(0, n));
    }
  }
});

test('eos ids are merged from generation_config.json (list), config.json and tokenizer_config.json', async () => {
  const tok = await loadTokenizer(modelDir('llama-gqa-f32'));
  assert.deepEqual(tok.eosTokenIds, [358, 356]); // </s> and <|endoftext|>, deduplicated, generation_config first
  assert.equal(tok.idToToken(358), '</s>');
  assert.ok(tok.specialTokenIds.includes(356) && tok.specialTokenIds.includes(360));
});

test('chat templates render like Python jinja2 from a string, a named list, and chat_template.jinja', async () => {
  const sources = new Set<string>();
  for (const m of MODELS) {
    const g = readGolden(m);
    const tok = await loadTokenizer(modelDir(m));
    assert.ok(tok.chatTemplate);
    sources.add(g.chat_template.source);
    for (const r of g.chat_template.renders) {
      assert.equal(
        tok.applyChatTemplate(r.messages, { addGenerationPrompt: r.add_generation_prompt }),
        r.rendered,
        `${m} agp=${r.add_generation_prompt}`,
      );
    }
  }
  assert.equal(sources.size, 3);
});

test('decode skips special tokens on request; empty input decodes to empty text', async () => {
  const tok = await loadTokenizer(modelDir('llama-gqa-f32'));
  const ids = tok.encode('Hello world');
  assert.equal(ids[0], tok.bosTokenId);
  assert.equal(tok.decode(ids), '<s>Hello world');
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'Hello world');
  assert.equal(tok.decode([]), '');
});

test('the stream decoder never emits half a UTF-8 character and adds up to the full decode', async () => {
  const tok = await loadTokenizer(modelDir('qwen2-bias-f32'));
  const text = 'Hello café — 日本語 🙂 ok <|im_end|>';
  const ids = tok.encode(text);
  const sd = createStreamDecoder(tok, { skipSpecialTokens: false });
  const pieces = ids.map((id) => sd.push(id));
  pieces.push(sd.flush());
  for (const p of pieces) assert.ok(!p.includes('\uFFFD'), JSON.stringify(pieces));
  assert.equal(pieces.join(''), text);
  assert.ok(pieces.filter((p) => p === '').length >= 3, 'multi-byte characters are held back until complete');
  // A dangling partial character comes out on flush (as U+FFFD), not silently dropped.
  const emoji = tok.encode('🙂', { addSpecialTokens: false });
  assert.ok(emoji.length > 1);
  const sd2 = createStreamDecoder(tok);
  assert.equal(sd2.push(emoji[0]), '');
  assert.equal(sd2.flush(), '\uFFFD');
});

test('missing or unreadable tokenizer files are LK_TOKENIZER naming the file', async () => {
  const d = tmp();
  await expectError(() => loadTokenizer(d), 'LK_TOKENIZER', [join(d, 'tokenizer.json')]);
  writeFileSync(join(d, 'tokenizer.json'), '{"model": ');
  await expectError(() => loadTokenizer(d), 'LK_TOKENIZER', [join(d, 'tokenizer.json'), 'JSON']);
  writeFileSync(join(d, 'tokenizer.json'), '{"model": {"type": "NoSuchModel"}}');
  await expectError(() => loadTokenizer(d), 'LK_TOKENIZER', [join(d, 'tokenizer.json')]);
  copyFileSync(join(modelDir('gpt2-f32'), 'tokenizer.json'), join(d, 'tokenizer.json'));
  writeFileSync(join(d, 'tokenizer_config.json'), '[1, 2');
  await expectError(() => loadTokenizer(d), 'LK_TOKENIZER', [join(d, 'tokenizer_config.json')]);
  writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ chat_template: '{% for m in messages %}{{ m.content }' }));
  await expectError(() => loadTokenizer(d), 'LK_TOKENIZER', ['tokenizer_config.json', 'chat template']);
  writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ chat_template: "{{ raise_exception('roles must alternate') }}" }));
  const tok = await loadTokenizer(d);
  await expectError(() => tok.applyChatTemplate([{ role: 'user', content: 'x' }]), 'LK_TOKENIZER', ['tokenizer_config.json', 'roles must alternate']);
  writeFileSync(join(d, 'tokenizer_config.json'), '{}');
  const plain = await loadTokenizer(d);
  assert.equal(plain.chatTemplate, undefined);
  await expectError(() => plain.applyChatTemplate([{ role: 'user', content: 'x' }]), 'LK_TOKENIZER', ['no chat_template']);
  assert.deepEqual(plain.encode('Hello world'), (await loadTokenizer(modelDir('gpt2-f32'))).encode('Hello world'));
});

test('applyChatTemplate passes extra variables (e.g. tools) to the template', async () => {
  const d = tmp();
  copyFileSync(join(modelDir('gpt2-f32'), 'tokenizer.json'), join(d, 'tokenizer.json'));
  writeFileSync(
    join(d, 'tokenizer_config.json'),
    JSON.stringify({
      eos_token: '<|endoftext|>',
      chat_template: '{{ tools | length }}:{{ messages[0].content }}{{ eos_token }}',
    }),
  );
  const tok = await loadTokenizer(d);
  assert.equal(tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { extra: { tools: [1, 2] } }), '2:hi<|endoftext|>');
});
