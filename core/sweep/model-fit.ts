// Whether a sweep's model fits the engine and device it will run on: its parameters (from config.json), the
// memory its weights take there, and an estimate of the time one EPO unit takes. `sweep launch`'s preflight prints
// a warning line where it will be slow or tight, and refuses where it cannot work at all (weights, as the tfjs engine
// holds them, over wasm's 4 GiB heap, or over this machine's memory on a CPU engine).
import { totalmem } from 'node:os';
import { resolveEpoConfig } from '../epo/config.js';
import type { ModelConfig } from '../model/config.js';
import { fitsWasmHeap, parameterCount, slabColumnsFor, tfjsWeightBytes } from '../model/footprint.js';
import { hasNvidiaGpu, resolveEngine } from '../model/open-engine.js';
import { epoRunConfig } from './epo-method.js';
import type { SweepSpec } from './spec.js';

/** Where the model will run: the engine, its tfjs backend or torch device, and the weights' bytes per parameter. */
export interface Placement {
  engine: 'tfjs' | 'torch';
  /** tfjs: wasm, cpu, webgpu, tensorflow; torch: cpu or cuda. */
  where: string;
  /** torch: float32, bfloat16, float16; tfjs: float32. */
  dtype: string;
}

const GIB = 2 ** 30;

/**
 * Seconds per EPO iteration per parameter at Table 1 settings (M = 8, r = 32, n = 12), from measurements:
 * wasm 5.45 s and tensorflow 1.06 s per iteration at Pythia-70m's shape (70.4M parameters) on 2 cores
 * (README, "Measured"); torch on the CPU about four times wasm (measured there too); torch on an H100/H200 about
 * 0.15 s at Pythia-12b (11.8B parameters), an estimate not yet measured on a GPU (the paper's code takes about 0.25 s
 * there). webgpu: not estimated.
 */
const SECONDS_PER_PARAMETER: Record<string, number> = {
  'tfjs/wasm': 5.45 / 70.4e6,
  'tfjs/cpu': 5.45 / 70.4e6,
  'tfjs/tensorflow': 1.06 / 70.4e6,
  'torch/cpu': 5.45 / 4 / 70.4e6,
  'torch/cuda': 0.15 / 11.8e9,
};

export interface FitVerdict {
  /** One line: parameters, memory, estimated time per EPO unit, where it runs. */
  line: string;
  /** ok: nothing to say; warn: slow or tight, printed; refuse: it cannot run there. */
  level: 'ok' | 'warn' | 'refuse';
}

const bytesPer = (dtype: string) => (dtype === 'float32' ? 4 : 2);
const fmtBytes = (b: number) => (b >= GIB ? `${(b / GIB).toFixed(1)} GiB` : `${Math.max(1, Math.round(b / 2 ** 20))} MiB`);
const fmtParams = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${Math.round(n / 1e6)}M`);
const fmtSeconds = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);

/**
 * The verdict for one model on one placement. epo: the sweep's EPO iterations, candidates per iteration
 * (population x (1 + children)) and prompt length, for the time per unit; memoryBytes: this machine's memory.
 */
export function modelFit(cfg: ModelConfig, place: Placement, epo?: { iters: number; candidates: number; seqLen: number }, memoryBytes = totalmem()): FitVerdict {
  const params = parameterCount(cfg);
  // tfjs holds each matrix in both orientations (and a tied, slabbed unembedding a third time); torch holds them once.
  const slabbed = (slabColumnsFor(place.where) ?? 0) > 0;
  const bytes = place.engine === 'tfjs' ? tfjsWeightBytes(cfg, slabbed) : params * bytesPer(place.dtype);
  const key = `${place.engine}/${place.where}`;
  const perParam = SECONDS_PER_PARAMETER[key];
  const perIter = perParam === undefined ? undefined : perParam * params * ((epo?.candidates ?? 264) / 264) * ((epo?.seqLen ?? 12) / 12);
  const unit = perIter !== undefined && epo ? `, about ${fmtSeconds(perIter * epo.iters)} per EPO unit (${perIter.toFixed(perIter < 1 ? 2 : 1)} s per iteration, estimated)` : '';
  const line = `${fmtParams(params)} parameters, ${fmtBytes(bytes)} of weights in ${place.dtype} on ${place.engine} ${place.where}${unit}`;
  const onHost = !(place.engine === 'torch' && place.where === 'cuda') && place.where !== 'webgpu';
  if (place.engine === 'tfjs' && place.where === 'wasm' && !fitsWasmHeap(cfg, slabbed)) {
    return {
      level: 'refuse',
      line: `${line}: wasm's memory holds 4 GiB at most (the tfjs engine holds each matrix in both orientations, and needs room to work); run it with engine: torch (on a GPU for a model this size)`,
    };
  }
  if (onHost && bytes > memoryBytes) return { level: 'refuse', line: `${line}: more than this machine's ${fmtBytes(memoryBytes)} of memory` };
  if (onHost && bytes > memoryBytes / 2) return { level: 'warn', line: `${line}: over half of this machine's ${fmtBytes(memoryBytes)} of memory` };
  if (perIter !== undefined && epo && perIter * epo.iters > 3600) {
    return { level: 'warn', line: `${line}: slow${place.engine === 'torch' && place.where === 'cuda' ? '' : '; engine: torch on a GPU is the place for it'}` };
  }
  return { level: 'ok', line };
}

/** Where the sweep's model runs on this machine (the embedded default's workers): model.engine (auto decided here). */
function localPlacement(spec: SweepSpec): Placement {
  const engine = resolveEngine(spec.model.engine, spec.model.backend);
  if (engine === 'tfjs') return { engine, where: spec.model.backend ?? (process.env['DREAMSWEEP_BACKEND'] || 'wasm'), dtype: 'float32' };
  const where = hasNvidiaGpu() ? 'cuda' : 'cpu';
  return { engine, where, dtype: spec.model.dtype ?? (where === 'cuda' ? 'bfloat16' : 'float32') };
}

/** The verdict for the sweep's model where the embedded default will run it; its EPO settings give the time per unit. */
export function sweepModelFit(spec: SweepSpec, cfg: ModelConfig, place = localPlacement(spec)): FitVerdict {
  const e = spec.methods.epo ? resolveEpoConfig(epoRunConfig(spec.methods.epo, { seqLen: spec.study.seqLen, seed: 0 }), cfg.dVocab) : undefined;
  const verdict = modelFit(cfg, place, e && { iters: e.iters, candidates: e.population * (1 + e.children), seqLen: e.seqLen });
  return { ...verdict, line: `${spec.source}: model ${spec.model.path}: ${verdict.line}` };
}
