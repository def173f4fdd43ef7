// Prompt tokenization for the server without blocking it (issue 13: an 8 MB prompt tokenized on the event loop
// held /health and every client for 15 s). Two parts:
// - a byte bound: every token covers at most B bytes of text, B = the longest token string of the vocabulary
//   (UTF-8 bytes; byte-level 'Ġ', sentencepiece '▁' and '<0x41>' only make B larger, so the bound stays safe),
//   so a prompt of more than maxPromptTokens × B bytes cannot fit and is refused before tokenizing. (Normalizers
//   that delete characters, or fused <unk> runs, can pack more bytes into one token: such prompts are refused
//   even though they might fit; only pathological text does that.)
// - a worker thread that tokenizes prompts above a small size, so the event loop keeps serving meanwhile.
import { Worker } from 'node:worker_threads';
import type { Tokenizer } from '../models/tokenizer.js';

/** The largest UTF-8 byte length of any token string (at least 4: one code point may be a token). */
export function maxBytesPerToken(tok: Tokenizer): number {
  let max = 4;
  for (let id = 0; id < tok.vocabSize; id++) {
    const t = tok.idToToken(id);
    if (t !== undefined) max = Math.max(max, Buffer.byteLength(t, 'utf8'));
  }
  return max;
}

interface Pending { resolve(ids: number[]): void; reject(e: Error): void }

/** One worker thread with its own copy of the tokenizer; requests are answered in order. */
export class TokenizeWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private next = 0;

  constructor(private readonly modelDir: string) {}

  encode(text: string, addSpecialTokens: boolean): Promise<number[]> {
    const w = this.start();
    const id = this.next++;
    return new Promise<number[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, text, addSpecialTokens });
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // Built, the worker is a sibling .js file. Under tsx (tests, `npx tsx src/cli/main.ts`) it is .ts, and a worker
    // does not always inherit tsx's loader, so a tiny bootstrap registers it first (as bin/lorakit.js does).
    const ts = import.meta.url.endsWith('.ts');
    const entry = new URL(ts ? './tokenize-worker.ts' : './tokenize-worker.js', import.meta.url);
    // (tsx is resolved here, from this file, so that the worker finds it whatever the current directory is)
    const tsx = (): string => JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const w = ts
      ? new Worker(`import(${tsx()}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
        { eval: true, workerData: { dir: this.modelDir } })
      : new Worker(entry, { workerData: { dir: this.modelDir } });
    w.unref(); // an idle tokenizer never keeps the process alive
    w.on('message', (m: { id: number; ids?: Int32Array; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!p) return;
      if (m.ids) p.resolve(Array.from(m.ids));
      else p.reject(new Error(`tokenizer worker: ${m.error}`));
    });
    const fail = (e: Error): void => {
      if (this.worker === w) this.worker = null; // the next request starts a fresh worker
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (this.pending.size) fail(new Error(`tokenizer worker exited with code ${code}`));
      else if (this.worker === w) this.worker = null;
    });
    this.worker = w;
    return w;
  }
}
