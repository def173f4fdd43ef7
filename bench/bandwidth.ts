// Read-bandwidth probe for the "% of the bandwidth bound" columns: onnxruntime sums a 256 MiB float32 buffer
// (ReduceSum over rows of a [1024, n/1024] view, fed zero-copy as a graph input, as decode feeds its weights) with
// the same intra-op thread count as the decode it is compared with. It reads and does not copy: decode reads each
// weight once per step, so a copy rate (read + write, one thread) is the wrong denominator (issue 13).
import * as E from '../src/engine/index.js';
import { median } from './stats.js';

const ROWS = 1024;

export interface ReadProbe {
  readonly threads: number;
  readonly bytes: number;
  /** One timed read of the whole buffer, in GB/s (1e9 bytes per second). */
  sample(): Promise<number>;
  dispose(): Promise<void>;
}

/** Compiles the probe once; `sample()` can then be interleaved with the runs it bounds. */
export async function readProbe(threads: number, mib = 256): Promise<ReadProbe> {
  const cols = (mib << 20) / 4 / ROWS;
  const g = new E.Graph(`read_probe_${threads}`);
  const x = g.input('x', 'float32', [ROWS, cols]);
  g.output('s', E.reduceSum(x, [1])); // (ROWS): one partial sum per row, so the rows split across threads
  const session = await E.compile(g, { threads, noCache: true });
  const data = new Float32Array(ROWS * cols).fill(1);
  const out = new Float32Array(ROWS);
  const run = (): Promise<unknown> => session.run({ x: { data, dims: [ROWS, cols] } }, { s: out });
  await run(); // warm-up: pages touched, threads spun up
  return {
    threads,
    bytes: data.byteLength,
    async sample() {
      const t0 = performance.now();
      await run();
      return data.byteLength / ((performance.now() - t0) / 1000) / 1e9;
    },
    dispose: () => session.dispose(),
  };
}

/** Median read bandwidth (GB/s) over `reps` samples, for callers that do not interleave. */
export async function readBandwidthGBs(threads: number, reps = 7): Promise<number> {
  const p = await readProbe(threads);
  try {
    const xs: number[] = [];
    for (let i = 0; i < reps; i++) xs.push(await p.sample());
    return median(xs);
  } finally {
    await p.dispose();
  }
}
