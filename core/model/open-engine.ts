// Which engine serves a model: `tfjs` (TensorFlow.js, its backend by --backend), `torch` (the PyTorch process)
// or `auto` (torch where an NVIDIA GPU and the torch engine's Python are present, else tfjs). Chosen by option
// (--engine, the sweep file's model.engine), else env DREAMSWEEP_ENGINE, else tfjs.
import { existsSync, readdirSync } from 'node:fs';
import type { Engine } from '../engine.js';
import { UserError } from '../errors.js';
import { rawEngine, withBos } from './bos.js';
import type { TorchEngine } from './torch-engine.js';
import { torchPythonAvailable, type TorchDtype } from './torch-env.js';

export const ENGINES = ['tfjs', 'torch', 'auto'] as const;
export type EngineChoice = (typeof ENGINES)[number];

export interface OpenEngineOptions {
  engine?: string;
  /** tfjs: the backend (wasm, cpu, webgpu, tensorflow). */
  backend?: string;
  /** tfjs: worker threads (> 1 makes a pool); torch: CPU threads. */
  threads?: number;
  /** torch: float32, bfloat16, float16 (default bf16 on CUDA, float32 on the CPU). */
  dtype?: string;
  /** torch: auto, cpu, cuda, cuda:N. */
  device?: string;
  /** tfjs: most prompts per backend call (--max-batch). */
  maxBatch?: number;
  /** torch: the engine process's log lines (the device `auto` chose, chunks shrunk after out of memory). */
  log?: (line: string) => void;
}

/** Whether this machine shows an NVIDIA GPU to its processes (no CUDA library is loaded to find out). */
export function hasNvidiaGpu(): boolean {
  try {
    return existsSync('/dev/nvidia0') || readdirSync('/proc/driver/nvidia/gpus').length > 0;
  } catch {
    return false;
  }
}

/** The engine asked for (option, else non-empty DREAMSWEEP_ENGINE, else tfjs), with `auto` decided here. */
export function resolveEngine(option?: string): 'tfjs' | 'torch' {
  const name = option ?? (process.env['DREAMSWEEP_ENGINE'] || 'tfjs');
  if (!(ENGINES as readonly string[]).includes(name)) {
    const from = option !== undefined ? '--engine' : 'DREAMSWEEP_ENGINE';
    throw new UserError('E_ENGINE_UNKNOWN', `${from}: expected one of ${ENGINES.join(', ')}, got "${name}"`);
  }
  if (name === 'auto') return hasNvidiaGpu() && torchPythonAvailable() ? 'torch' : 'tfjs';
  return name as 'tfjs' | 'torch';
}

/**
 * Loads the model directory on the chosen engine (each engine's code is imported only when chosen), with the
 * tokenizer's BOS put before every row where it has one (bos.ts).
 */
export async function openEngine(dir: string, o: OpenEngineOptions = {}): Promise<Engine> {
  return withBos(await openRawEngine(dir, o));
}

async function openRawEngine(dir: string, o: OpenEngineOptions): Promise<Engine> {
  if (resolveEngine(o.engine) === 'torch') {
    const { TorchEngine } = await import('./torch-engine.js');
    return TorchEngine.load(dir, {
      ...(o.dtype !== undefined && { dtype: o.dtype as TorchDtype }),
      ...(o.device !== undefined && { device: o.device }),
      ...(o.threads !== undefined && { threads: o.threads }),
      ...(o.log !== undefined && { log: o.log }),
    });
  }
  const threads = o.threads ?? 1;
  const tfjs = { backend: o.backend, ...(o.maxBatch !== undefined && { maxBatch: o.maxBatch }) };
  if (threads > 1) return (await import('./pool-engine.js')).PoolEngine.load(dir, { threads, ...tfjs });
  return (await import('./tfjs-engine.js')).TfjsEngine.load(dir, tfjs);
}

/** For logs: "torch 2.15.0, cuda:0 (NVIDIA H200), bfloat16" or "wasm (simd)". */
export async function describeEngine(engine: Engine): Promise<string> {
  const e = rawEngine(engine);
  if (e.backend === 'torch') return (e as TorchEngine).describe();
  return (await import('./backend.js')).describeBackend() ?? e.backend;
}
