// lorakit generate: stream a continuation of a prompt (optionally through the chat template and an adapter).
import { defineCommand } from '../command.js';
import { adapterDirOrRef } from '../adapter-arg.js';
import { existingDir, finiteNumber, nonNegativeInt, positiveInt } from '../parse.js';
import { type QuantFlags, quantFlags, quantOptions } from '../quant-flags.js';

export interface GenerateFlags extends QuantFlags {
  model: string; adapter: string | undefined; prompt: string[]; chat: boolean; system: string | undefined;
  maxNewTokens: number; temperature: number; topK: number | undefined; topP: number | undefined; repetitionPenalty: number | undefined;
  stop: string[]; seed: number; threads: number | undefined; bakeWeights: boolean; allowBaseMismatch: boolean; json: boolean;
}

export const generateCmd = defineCommand<GenerateFlags>({
  name: 'generate',
  summary: 'Generate text from a prompt with a KV cache, streamed to the terminal',
  example: 'lorakit generate --model models/tiny-llama --prompt "The jury said" --max-new-tokens 40',
  flags: {
    model: { arg: '<dir>', help: 'HF model folder', parse: existingDir, required: true },
    adapter: { arg: '<dir|ref>', help: "PEFT adapter folder to apply, or a registry reference such as 'support@production'", parse: adapterDirOrRef },
    prompt: { arg: '<text>', help: 'prompt (repeat for a batch of prompts)', repeatable: true, short: 'p' },
    chat: { help: "render the prompt as a user turn with the model's chat template" },
    system: { arg: '<text>', help: 'system message (with --chat)' },
    maxNewTokens: { arg: '<n>', help: 'maximum new tokens', default: 64, parse: positiveInt },
    temperature: { arg: '<t>', help: 'sampling temperature (0 = greedy)', default: 0, parse: finiteNumber },
    topK: { arg: '<k>', help: 'sample from the k most likely tokens', parse: positiveInt },
    topP: { arg: '<p>', help: 'nucleus sampling: smallest set with probability >= p', parse: finiteNumber },
    repetitionPenalty: { arg: '<x>', help: 'penalise tokens already present (> 1)', parse: finiteNumber },
    stop: { arg: '<text>', help: 'stop when this text appears', repeatable: true },
    seed: { arg: '<n>', help: 'seed for sampling', default: 0, parse: nonNegativeInt },
    threads: { arg: '<n>', help: 'onnxruntime threads', parse: positiveInt },
    bakeWeights: { help: 'bake weights into the decode graph (faster decode, a second copy of the weights in memory)' },
    ...quantFlags,
    allowBaseMismatch: { help: "use the adapter even if its base_model_name_or_path names another model (recorded in the output)" },
    json: { help: 'print a JSON result instead of streaming' },
  },
  async run(f, io, positionals) {
    const { loadCheckpoint } = await import('../../models/checkpoint.js');
    const { CausalLM } = await import('../../models/causal-lm.js');
    const { generate } = await import('../../models/generate.js');
    const { createStreamDecoder } = await import('../../models/tokenizer.js');
    const { loadAdapterFor } = await import('../../lora/load.js');
    const { LorakitError } = await import('../../errors.js');
    const prompts = f.prompt.length ? f.prompt : positionals;
    if (prompts.length === 0) throw new LorakitError('LK_ARG', "generate: give a prompt with --prompt TEXT");
    const base = await loadCheckpoint(f.model, { tokenizer: true, quantize: quantOptions(f) });
    const tok = base.tokenizer!;
    const { openAdapterArg, baseCheckJson, warnBaseCheck } = await import('../adapter-arg.js');
    const { precisionMismatch } = await import('../../models/quant/scheme.js');
    const arg = f.adapter ? await openAdapterArg(f.adapter, f.model) : undefined;
    let adapter: Awaited<ReturnType<typeof loadAdapterFor>> | undefined;
    try {
      adapter = arg ? await loadAdapterFor(base, arg.dir, { allowBaseMismatch: f.allowBaseMismatch }) : undefined;
    } finally { arg?.cleanup(); }
    if (adapter) warnBaseCheck(io, adapter.baseCheck, f.adapter!, precisionMismatch(adapter.meta?.base_quantization, base.quantization));
    const lm = new CausalLM(base.config, base.weights, base.shapes, { threads: f.threads, bakeDecodeWeights: f.bakeWeights, quant: base.quant });
    const texts = prompts.map((p) =>
      f.chat
        ? tok.applyChatTemplate(
            [...(f.system ? [{ role: 'system', content: f.system }] : []), { role: 'user', content: p }],
            { addGenerationPrompt: true },
          )
        : p,
    );
    const ids = texts.map((t) => tok.encode(t, { addSpecialTokens: !f.chat }));
    const stream = !f.json && prompts.length === 1 ? createStreamDecoder(tok, { skipSpecialTokens: true }) : null;
    if (stream) io.stdout.write(prompts[0]);
    const r = await generate(lm, ids, {
      maxNewTokens: f.maxNewTokens, temperature: f.temperature, topK: f.topK, topP: f.topP, repetitionPenalty: f.repetitionPenalty,
      seed: f.seed, eosTokenIds: base.generationConfig.eosTokenIds.length ? base.generationConfig.eosTokenIds : tok.eosTokenIds,
      padTokenId: tok.padTokenId, stop: f.stop, decode: (x) => tok.decode(x, { skipSpecialTokens: true }), adapter: adapter?.binding,
      onToken: stream ? (_row, t) => { io.stdout.write(stream.push(t)); } : undefined,
    });
    const newTokens = r.tokens.reduce((p, t) => p + t.length, 0);
    const stats = {
      prompt_tokens: r.promptTokens,
      completion_tokens: newTokens,
      prefill_ms: r.prefillMs,
      decode_ms: r.decodeMs,
      decode_tokens_per_s: r.decodeSteps > 0 ? (r.decodeSteps * prompts.length) / (r.decodeMs / 1000) : 0,
    };
    if (stream) io.stdout.write('\n');
    else if (!f.json) r.text!.forEach((t, i) => io.log(`[${i}] ${prompts[i]}${t}`));
    const bound = adapter ? { adapter: arg?.ref ?? f.adapter, base_check: baseCheckJson(adapter.baseCheck) } : {};
    const completions = r.text!.map((text, i) => ({ prompt: prompts[i], text, tokens: r.tokens[i], finish_reason: r.finishReasons[i] }));
    io.done({ completions, usage: stats, ...bound },
      `(${newTokens} tokens, prefill ${r.prefillMs.toFixed(0)} ms, decode ${stats.decode_tokens_per_s.toFixed(1)} tok/s)`);
  },
});
