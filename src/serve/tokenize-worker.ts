// Worker thread entry for TokenizeWorker (tokenize.ts): loads the model folder's tokenizer once, then answers
// {id, text, addSpecialTokens} with the token ids (a transferred Int32Array) or an error message.
import { parentPort, workerData } from 'node:worker_threads';
import { loadTokenizer } from '../models/tokenizer.js';

const port = parentPort!;
const ready = loadTokenizer((workerData as { dir: string }).dir);
port.on('message', (m: { id: number; text: string; addSpecialTokens: boolean }) => {
  ready.then((tok) => {
    const ids = Int32Array.from(tok.encode(m.text, { addSpecialTokens: m.addSpecialTokens }));
    port.postMessage({ id: m.id, ids }, [ids.buffer]);
  }).catch((e: unknown) => port.postMessage({ id: m.id, error: (e as Error).message ?? String(e) }));
});
