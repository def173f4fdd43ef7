// The ONLY file that imports onnxruntime-node (as ORT's js/node keeps its native addon behind binding.ts).
// Everything else sees the typed interfaces below.
import * as ort from 'onnxruntime-node';
import { LorakitError } from '../../errors.js';
import type { AnyTypedArray, DType } from '../graph/dtype.js';

export interface NativeTensor { readonly data: AnyTypedArray; readonly dims: readonly number[]; readonly type: string }

export interface NativeSessionOptions {
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  readonly optimization: 'disabled' | 'basic' | 'extended' | 'all';
  readonly logSeverity?: 0 | 1 | 2 | 3 | 4;
  /** ORT graph optimizers to skip, by name (session config 'optimization.disable_specified_optimizers'). */
  readonly disabledOptimizers?: readonly string[];
  /** ORT's memory-pattern planning (default on; the CPU arena is always on); see CompileOptions.memPattern. */
  readonly memPattern?: boolean;
  /** Where file-backed initializers live (the model comes as bytes, so ORT has no model path to resolve them by). */
  readonly externalFolder?: string;
}

export interface NativeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(
    feeds: Readonly<Record<string, NativeTensor>>,
    fetches: readonly string[] | Readonly<Record<string, NativeTensor>>,
  ): Promise<Record<string, NativeTensor>>;
  release(): Promise<void>;
}

const ortType: Readonly<Record<DType, 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8'>> = {
  float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool', uint8: 'uint8',
};

/** Wraps a typed array as an ORT tensor without copying. */
export function makeTensor(dtype: DType, data: AnyTypedArray, dims: readonly number[]): NativeTensor {
  return new ort.Tensor(ortType[dtype], data as never, dims) as unknown as NativeTensor;
}

let optimizedDumps = 0;

/** In-memory external data (ONNX initializers stored outside the protobuf); ORT reads them from `data`. */
export interface ExternalDataFile { readonly path: string; readonly data: Uint8Array }

export async function createNativeSession(
  model: Uint8Array,
  o: NativeSessionOptions,
  externalData: readonly ExternalDataFile[] = [],
): Promise<NativeSession> {
  try {
    const s = await ort.InferenceSession.create(model, {
      intraOpNumThreads: o.intraOpThreads,
      interOpNumThreads: o.interOpThreads,
      graphOptimizationLevel: o.optimization,
      executionMode: 'sequential',
      enableCpuMemArena: true,
      enableMemPattern: o.memPattern ?? true,
      logSeverityLevel: o.logSeverity ?? 3,
      executionProviders: ['cpu'],
      ...(externalData.length ? { externalData: externalData.map((f) => ({ path: f.path, data: f.data })) } : {}),
      extra: {
        ...(o.disabledOptimizers?.length ? { optimization: { disable_specified_optimizers: o.disabledOptimizers.join(';') } } : {}),
        ...(o.externalFolder ? { session: { model_external_initializers_file_folder_path: o.externalFolder } } : {}),
      },
      // LORAKIT_ORT_PROFILE=prefix writes ORT's per-node timing JSON (prefix_<date>.json) of each session's first run.
      ...(process.env.LORAKIT_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.LORAKIT_ORT_PROFILE } : {}),
      // LORAKIT_ORT_OPTIMIZED=prefix writes the model as ORT optimized it (prefix_<n>.onnx, n counts sessions).
      ...(process.env.LORAKIT_ORT_OPTIMIZED ? { optimizedModelFilePath: `${process.env.LORAKIT_ORT_OPTIMIZED}_${optimizedDumps++}.onnx` } : {}),
    });
    let profiling = process.env.LORAKIT_ORT_PROFILE !== undefined;
    return {
      inputNames: s.inputNames,
      outputNames: s.outputNames,
      async run(feeds, fetches) {
        try {
          const r = await s.run(feeds as Record<string, ort.Tensor>, fetches as never);
          // Written now: a process that exits without releasing its sessions would leave the file empty.
          if (profiling) {
            profiling = false;
            s.endProfiling();
          }
          return r as unknown as Record<string, NativeTensor>;
        } catch (e) {
          throw new LorakitError('LK_ORT', `onnxruntime run failed: ${(e as Error).message}`, { cause: e });
        }
      },
      release: () => s.release(),
    };
  } catch (e) {
    throw new LorakitError('LK_ORT', `onnxruntime could not create a session: ${(e as Error).message}`, { cause: e });
  }
}
