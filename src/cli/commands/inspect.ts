// lorakit inspect: architecture, parameter count, dtypes and memory of a model folder (header reads only unless --load).
import { defineCommand } from '../command.js';
import { existingDir } from '../parse.js';

export interface InspectFlags { model: string; load: boolean; json: boolean }

export const inspectCmd = defineCommand<InspectFlags>({
  name: 'inspect',
  summary: 'Show a model folder: architecture, parameters, dtypes, memory',
  example: 'lorakit inspect --model models/tiny-llama',
  flags: {
    model: { arg: '<dir>', help: 'HF model folder', parse: existingDir, required: true },
    load: { help: 'also load the weights and report load time and resident memory' },
    json: { help: 'print JSON' },
  },
  async run(f, io) {
    const { loadConfig } = await import('../../models/config.js');
    const { listTensors, resolveWeightsPath } = await import('../../models/safetensors.js');
    const cfg = loadConfig(f.model);
    const tensors = listTensors(resolveWeightsPath(f.model));
    const dtypes: Record<string, number> = {};
    let params = 0;
    for (const t of tensors) { const n = t.shape.reduce((a, b) => a * b, 1); params += n; dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + n; }
    const info: Record<string, unknown> = {
      model: f.model, architecture: cfg.architectures[0] ?? cfg.modelType, model_type: cfg.modelType,
      parameters: params, tensors: tensors.length, dtypes,
      hidden_size: cfg.hiddenSize, layers: cfg.numLayers, heads: cfg.numHeads, kv_heads: cfg.numKvHeads,
      head_dim: cfg.headDim, intermediate_size: cfg.intermediateSize,
      vocab_size: cfg.vocabSize, max_position_embeddings: cfg.maxPositionEmbeddings,
      tie_word_embeddings: cfg.tieWordEmbeddings, rope_theta: cfg.ropeTheta, rope_scaling: cfg.ropeScaling,
      sliding_window: cfg.slidingWindow, float32_bytes: params * 4,
    };
    if (f.load) {
      const { loadCheckpoint } = await import('../../models/checkpoint.js');
      const before = process.memoryUsage().rss;
      const c = await loadCheckpoint(f.model, { tokenizer: true });
      info.load_ms = c.loadMs;
      info.rss_bytes = c.rssBytes;
      info.rss_delta_bytes = c.rssBytes - before;
      info.tokenizer_vocab = c.tokenizer?.vocabSize ?? null;
      info.chat_template = Boolean(c.tokenizer?.chatTemplate);
    }
    const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
    const dtypeShares = Object.entries(dtypes).map(([k, v]) => `${k} ${(100 * v / params).toFixed(0)}%`).join(', ');
    const loaded = f.load ? `; loaded in ${(info.load_ms as number).toFixed(0)} ms, RSS ${mb(info.rss_bytes as number)}` : '';
    io.done(info, [
      `${info.architecture} (${cfg.modelType}): ${(params / 1e6).toFixed(2)}M parameters in ${tensors.length} tensors (${dtypeShares})`,
      `hidden ${cfg.hiddenSize}, ${cfg.numLayers} layers, ${cfg.numHeads} heads (${cfg.numKvHeads} kv, head_dim ${cfg.headDim}), ` +
        `intermediate ${cfg.intermediateSize}, vocab ${cfg.vocabSize}, context ${cfg.maxPositionEmbeddings}`,
      `float32 weights in memory: ${mb(params * 4)}${loaded}`,
    ].join('\n'));
  },
});
