// Which engine serves a model: `tfjs` (TensorFlow.js, its backend by --backend), `torch` (the PyTorch process)
// or `auto`, the default: torch wherever its Python environment is installed (GPU or CPU: on 2 CPU cores it runs
// EPO about four times faster than wasm), tfjs where a tfjs backend is named or nothing is installed (wasm: no
// Python needed). Chosen by option (--engine, the sweep file's model.engine), else env DREAMSWEEP_ENGINE, else auto.
import { existsSync, readdirSync } from 'node:fs';
import type { Engine } from '../engine.js';
import { UserError } from '../errors.js';
import { rawEngine, withBos } from './bos.js';
import type { TorchEngine } from './torch-engine.js';
import { ENGINES, type EngineChoice, type TorchDtype } from './names.js';
import { torchPython, torchPythonAvailable } from './torch-env.js';

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

/** The engine asked for: option, else non-empty DREAMSWEEP_ENGINE, else auto. */
export function requestedEngine(option?: string): EngineChoice {
  const name = option ?? (process.env['DREAMSWEEP_ENGINE'] || 'auto');
  if (!(ENGINES as readonly string[]).includes(name)) {
    const from = option !== undefined ? '--engine' : 'DREAMSWEEP_ENGINE';
    throw new UserError('E_ENGINE_UNKNOWN', `${from}: expected one of ${ENGINES.join(', ')}, got "${name}"`);
  }
  return name as EngineChoice;
}

/**
 * What `auto` picks here, and why (`dreamsweep backends` prints both): tfjs where a tfjs backend is named (the
 * option, the sweep file's model.backend, or DREAMSWEEP_BACKEND), else torch where its Python is configured or
 * installed, else tfjs (wasm, which needs nothing installed).
 */
export function autoEngine(backend?: string): { engine: 'tfjs' | 'torch'; why: string } {
  const named = backend ?? (process.env['DREAMSWEEP_BACKEND'] || undefined); // backend.ts's requestedBackend, without loading tfjs
  if (named !== undefined) return { engine: 'tfjs', why: `a tfjs backend is named (${named})` };
  if (torchPythonAvailable()) {
    return { engine: 'torch', why: `the torch engine's Python is installed (${torchPython()}), on ${hasNvidiaGpu() ? 'an NVIDIA GPU' : 'the CPU: no NVIDIA GPU here'}` };
  }
  return { engine: 'tfjs', why: 'the torch engine is not installed (`npm run engines:torch` installs it); wasm needs nothing' };
}

/** The engine asked for (option, else non-empty DREAMSWEEP_ENGINE, else auto), with `auto` decided here. */
export function resolveEngine(option?: string, backend?: string): 'tfjs' | 'torch' {
  const name = requestedEngine(option);
  return name === 'auto' ? autoEngine(backend).engine : name;
}

/**
 * Loads the model directory on the chosen engine (each engine's code is imported only when chosen), with the
 * tokenizer's BOS put before every row where it has one (bos.ts).
 */
export async function openEngine(dir: string, o: OpenEngineOptions = {}): Promise<Engine> {
  return withBos(await openRawEngine(dir, o));
}

async function openRawEngine(dir: string, o: OpenEngineOptions): Promise<Engine> {
  if (resolveEngine(o.engine, o.backend) === 'torch') {
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
