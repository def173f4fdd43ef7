// lorakit tokenizer train: learns a byte-level BPE (GPT-2 pre-tokenizer) from the Brown corpus (held-out files
// excluded) and/or text files, and writes an HF tokenizer folder (tokenizer.json + tokenizer_config.json).
import { defineCommand, type Flags } from '../command.js';
import { positiveInt } from '../parse.js';

export interface TokenizerTrainFlags { corpus: string[]; vocabSize: number; out: string; minFrequency: number; modelMaxLength: number; json: boolean }

const flags: Flags<TokenizerTrainFlags> = {
  corpus: { arg: '<brown|file>', help: "'brown' (Brown corpus without its held-out files) or a text file; repeatable", repeatable: true },
  vocabSize: { arg: '<n>', help: 'vocabulary size including the 256 byte symbols and 6 special tokens', default: 4096, parse: positiveInt },
  out: { arg: '<dir>', help: 'folder for tokenizer.json and tokenizer_config.json', required: true, short: 'o' },
  minFrequency: { arg: '<n>', help: 'a pair must occur this often to be merged', default: 2, parse: positiveInt },
  modelMaxLength: { arg: '<n>', help: 'model_max_length written to tokenizer_config.json', default: 1024, parse: positiveInt },
  json: { help: 'JSON result on stdout', default: false },
};

export const tokenizerTrain = defineCommand<TokenizerTrainFlags>({
  name: 'tokenizer train',
  summary: 'Train a byte-level BPE tokenizer (HF tokenizer.json out)',
  example: 'lorakit tokenizer train --corpus brown --vocab-size 4096 --out models/brown-tokenizer',
  positionals: '[file...]',
  flags,
  async run(f, io, positionals) {
    const { readCorpus, trainingTexts } = await import('../../train/pretrain-data.js');
    const { trainBpe } = await import('../../models/bpe/trainer.js');
    const { DEFAULT_SPECIAL_TOKENS, writeTokenizerFolder } = await import('../../models/bpe/folder.js');
    const sources = [...f.corpus, ...positionals];
    const t0 = performance.now();
    const texts = trainingTexts(readCorpus(sources.length ? sources : ['brown']));
    const chars = texts.reduce((a, t) => a + t.length, 0);
    io.log(`training a ${f.vocabSize}-token BPE on ${texts.length} documents (${(chars / 1e6).toFixed(2)}M characters)`);
    const bar = io.progress({ total: f.vocabSize - 256 - DEFAULT_SPECIAL_TOKENS.length, label: 'merges', unit: 'merge' });
    const model = trainBpe(texts, {
      vocabSize: f.vocabSize,
      specialTokens: DEFAULT_SPECIAL_TOKENS,
      minFrequency: f.minFrequency,
      onProgress: (n) => bar.tick(n),
    });
    bar.finish();
    const info = writeTokenizerFolder(f.out, model, { modelMaxLength: f.modelMaxLength });
    const seconds = (performance.now() - t0) / 1000;
    io.done({ ...info, documents: texts.length, characters: chars, wordTypes: model.wordTypes, seconds },
      `tokenizer written to ${f.out} (${info.vocabSize} ids, ${info.merges} merges, ${model.wordTypes} word types, ${seconds.toFixed(1)} s)`);
  },
});
