// EPO seconds per iteration at the paper's Table 1 settings (M = 8, r = 32, k = 512, n = 12). tfjs: a scaled-down
// random GPT-NeoX (d_model 128, 4 layers, Pythia's 50304-token vocabulary), or a preset's shape (--preset, a real
// model's config.json: bench/presets.ts), written as a checkpoint with random weights; torch: a preset's shape
// (default 70m) with random weights built on the device. Each run is done with prefix reuse on and off
// (--prefix on,off), reporting s/iteration, prompts and token positions per second, achieved TFLOP/s (FLOPs
// actually run: forward 2 per multiply-add, a gradient row about twice a forward plus x W_E^T), peak memory per
// iteration (the resident set of the process holding the model: this one for tfjs, the engine's for torch; Linux's
// VmHWM, reset as each iteration starts) and, on a GPU, peak GPU memory. A model whose weights do not fit the wasm
// heap (4 GiB) is not loaded: the JSON says why. Prints one JSON object.
// Usage: tsx bench/epo.ts [--engine tfjs|torch] [--backend wasm] [--preset 70m|gpt2|llama-3.2-1b|qwen3-0.6b|...] [--dtype float32] [--device cpu]
//        [--threads 2] [--iters 3] [--batch-size 256] [--prefix on,off] [--d-model 128] [--layers 4]
//        [--population 8] [--children 32] [--slab-columns 1024,0] [--compile on|off]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type { Engine, EvaluateOptions, Objective } from '../core/engine.js';
import { EPO_DEFAULTS } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { describeBackend } from '../core/model/backend.js';
import { withBos } from '../core/model/bos.js';
import type { ModelConfig } from '../core/model/config.js';
import { PoolEngine } from '../core/model/pool-engine.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { TorchEngine } from '../core/model/torch-engine.js';
import type { TorchDtype } from '../core/model/names.js';
import { parseObjective } from '../core/objectives/spec.js';
import { parameterCount, slabColumnsFor, tfjsWeightBytes, WASM_HEAP_BYTES, WASM_WORKING_BYTES } from '../core/model/footprint.js';
import { forwardFlopsPerPosition, preset, presetConfig, presetTokenizer, writeRandomCheckpoint } from './presets.js';

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'tfjs' },
    backend: { type: 'string', default: 'wasm' },
    preset: { type: 'string' },
    dtype: { type: 'string' },
    device: { type: 'string' },
    threads: { type: 'string' },
    iters: { type: 'string', default: '3' },
    'd-model': { type: 'string', default: '128' },
    layers: { type: 'string', default: '4' },
    'batch-size': { type: 'string', default: '256' },
    prefix: { type: 'string', default: 'on,off' },
    // The unembedding's slab widths to compare (core/model/unembed.ts; the torch engine's Unembed), e.g. 1024,0 (0: one slab); default: the engine's.
    'slab-columns': { type: 'string', default: '' },
    // The torch engine's torch.compile of its blocks, on or off (default: the engine's: on on CUDA, off on the CPU).
    compile: { type: 'string', default: '' },
    seed: { type: 'string', default: '1' },
    population: { type: 'string', default: String(EPO_DEFAULTS.population) },
    children: { type: 'string', default: String(EPO_DEFAULTS.children) },
  },
});
const population = Number(args.population);
const childrenPer = Number(args.children);
const iters = Number(args.iters);
const n = EPO_DEFAULTS.seqLen;
const prefixModes = args.prefix.split(',').map((m) => m.trim() === 'on');
const listOf = (arg: string): Array<number | undefined> => (arg ? arg.split(',').map(Number) : [undefined]);
const slabModes = listOf(args['slab-columns']);
if (args.compile && (args.engine !== 'torch' || !['on', 'off'].includes(args.compile))) throw new Error('--compile: on or off, with --engine torch');

/** Counts what the engine is asked to compute: prompts, and positions after prefix reuse. */
function counted(engine: Engine, reuse: boolean) {
  const c = { prompts: 0, positions: 0, gradRows: 0 };
  const wrapped: Engine = {
    shape: engine.shape,
    tokenizer: engine.tokenizer,
    backend: engine.backend,
    evaluate(ids, objective: Objective, options?: EvaluateOptions) {
      c.prompts += ids.length;
      const h = reuse ? options?.prefix : undefined;
      c.positions += h ? ids.reduce((s, _, b) => s + (h.parentOf[b]! >= 0 ? n - h.from[b]! : n), 0) : ids.length * n;
      return engine.evaluate(ids, objective, options);
    },
    gradients(ids, lambdas, objective, k, options) {
      c.gradRows += ids.length;
      return engine.gradients(ids, lambdas, objective, k, options);
    },
    taps: (ids, names, options) => engine.taps(ids, names, options),
    dispose: () => engine.dispose(),
  };
  return { engine: wrapped, c };
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const gib = (bytes: number) => Number((bytes / GiB).toFixed(2));
const mib = (bytes: number) => Math.round(bytes / MiB);

// The model: a preset's config.json (parsed by its family), else (tfjs) the scaled-down GPT-NeoX.
const presetName = args.engine === 'torch' ? (args.preset ?? '70m') : args.preset;
const cfg: ModelConfig = presetName
  ? presetConfig(presetName)
  : { ...presetConfig('70m'), dModel: Number(args['d-model']), nLayers: Number(args.layers), nHeads: 4, dHead: Number(args['d-model']) / 4, dMlp: 4 * Number(args['d-model']) };
if (args.engine !== 'tfjs' && args.engine !== 'torch') throw new Error(`--engine: expected tfjs or torch, got "${args.engine}"`);
const threads = Number(args.threads ?? 1);
const modelLine = {
  ...(presetName && { hf: preset(presetName).hfId }),
  architecture: cfg.architecture,
  parameters: parameterCount(cfg),
  dModel: cfg.dModel,
  nLayers: cfg.nLayers,
  dVocab: cfg.dVocab,
};
const settings = { M: population, r: childrenPer, k: EPO_DEFAULTS.topk, n, iters, batchSize: Number(args['batch-size']) };

// The wasm heap has 32-bit addresses: a model whose weights (as the tfjs engine holds them) leave no room in 4 GiB
// would fail while loading, in every worker thread; say so instead of trying.
if (args.engine === 'tfjs' && args.backend === 'wasm') {
  const slabbed = slabModes.some((s) => (s ?? slabColumnsFor('wasm') ?? 0) > 0);
  const need = tfjsWeightBytes(cfg, slabbed);
  const working = WASM_WORKING_BYTES;
  if (need + working > WASM_HEAP_BYTES) {
    const why =
      `${cfg.architecture} with ${(modelLine.parameters / 1e9).toFixed(2)}B parameters: the tfjs engine holds ${gib(need)} GiB of float32 weights ` +
      `(each matrix in both orientations${cfg.tieEmbeddings && slabbed ? ', the tied unembedding a third time as slabs' : ''}), over the wasm heap's ` +
      `${WASM_HEAP_BYTES / GiB} GiB (32-bit addresses, one heap per worker thread) less ${working / GiB} GiB to work in; not loaded. Use --engine torch`;
    process.stderr.write(`bench:epo: ${why}\n`);
    process.stdout.write(
      `${JSON.stringify({ bench: 'epo', engine: 'tfjs', backend: 'wasm', preset: presetName ?? null, model: modelLine, settings, fits: false, skipped: why })}\n`,
    );
    process.exit(0);
  }
}

/** VmRSS and VmHWM (peak) of a process, in bytes (Linux). */
function rss(pid: number | 'self'): { now: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    return { now: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, every thread) a process has used so far (Linux: /proc/<pid>/stat at 100 ticks/s). */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: fields 14 and 15 of stat(5)
  } catch {
    return NaN;
  }
}

/** Resets the process's VmHWM to its current resident set (Linux: clear_refs 5); false where it cannot. */
function resetPeak(pid: number | 'self'): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** The wasm backend's heap (it grows, never shrinks: its high-water mark), in this thread; undefined elsewhere. */
function wasmHeapBytes(): number | undefined {
  if (threads > 1 || tf.getBackend() !== 'wasm') return undefined;
  return (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.length;
}

/** engine: with the tokenizer's BOS before every row (withBos: llama-3.2-1b, gemma-2-2b); raw: the engine it wraps. */
async function makeEngine(reuse: boolean, slabColumns: number | undefined, dir: string): Promise<{ engine: Engine; raw: Engine; describe: string }> {
  if (args.engine === 'torch') {
    const e = await TorchEngine.random(cfg, presetTokenizer(presetName!), 12, {
      prefixReuse: reuse,
      ...(slabColumns !== undefined && { slabColumns }),
      ...(args.dtype !== undefined && { dtype: args.dtype as TorchDtype }),
      ...(args.device !== undefined && { device: args.device }),
      ...(args.compile && { compile: args.compile === 'on' }),
      ...(args.threads !== undefined && { threads: Number(args.threads) }),
    });
    return { engine: withBos(e), raw: e, describe: e.describe() };
  }
  // --threads N > 1: a pool of N worker threads, one wasm backend each (as `dreamsweep epo --threads`).
  if (threads > 1) {
    const pool = await PoolEngine.load(dir, { threads, backend: args.backend, prefixReuse: reuse, slabColumns });
    return { engine: withBos(pool), raw: pool, describe: `${describeBackend() ?? pool.backend} x ${threads} threads` };
  }
  const e = await TfjsEngine.load(dir, { backend: args.backend, prefixReuse: reuse, slabColumns });
  return { engine: withBos(e), raw: e, describe: describeBackend() ?? e.backend };
}

const loadAtStart = loadavg().map((l) => Number(l.toFixed(2))); // other processes on the machine: 1, 5, 15 minutes
const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-bench-epo-'));
const runs: unknown[] = [];
let engineLine = '';
let checkpointSeconds: number | undefined;
try {
  if (args.engine === 'tfjs') {
    const t0 = performance.now();
    writeRandomCheckpoint(dir, cfg, presetName ? preset(presetName) : undefined);
    checkpointSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  }
  const modes = prefixModes.flatMap((r) => slabModes.map((s) => [r, s] as const));
  for (const [reuse, slabColumns] of modes) {
    const loadStart = performance.now();
    const made = await makeEngine(reuse, slabColumns, dir);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    engineLine = made.describe;
    const { engine, c } = counted(made.engine, reuse);
    const objective = parseObjective(`resid:${Math.floor(cfg.nLayers / 2)}:random:1`, engine.shape, engine.tokenizer);
    const times: number[] = [];
    const cpu: number[] = []; // this process's CPU seconds (every thread; not the torch engine's own process)
    const engineCpu: number[] = []; // the torch engine process's
    // Memory: the process that holds the model (the torch engine's, or this one with its worker threads).
    const pid = made.raw instanceof TorchEngine ? made.raw.pid! : 'self';
    const loaded = rss(pid);
    const tfBytes = made.raw instanceof TfjsEngine ? tf.memory().numBytes : undefined;
    const resets = resetPeak(pid);
    const peaks: number[] = [];
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    let lastEngineCpu = typeof pid === 'number' ? cpuSecondsOf(pid) : NaN;
    let atSteady = { ...c };
    if (made.raw instanceof TorchEngine) await made.raw.peakMemory(); // resets the peak
    const config = { ...EPO_DEFAULTS, iters, population, children: childrenPer, batchSize: Number(args['batch-size']), seed: Number(args.seed) };
    await epo(engine, objective, config, {
      onProgress: () => {
        const now = performance.now();
        times.push((now - last) / 1000);
        last = now;
        const used = process.cpuUsage(lastCpu);
        cpu.push((used.user + used.system) / 1e6);
        lastCpu = process.cpuUsage();
        if (typeof pid === 'number') {
          const nowCpu = cpuSecondsOf(pid);
          engineCpu.push(nowCpu - lastEngineCpu);
          lastEngineCpu = nowCpu;
        }
        peaks.push(rss(pid)?.peak ?? NaN);
        resetPeak(pid);
        if (times.length === 1) atSteady = { ...c }; // the first iteration also computes every slot's gradient
      },
    });
    const memory = made.raw instanceof TorchEngine ? await made.raw.peakMemory() : undefined;
    const wasmHeap = wasmHeapBytes();
    engine.dispose();
    const steady = times.length > 1 ? times.slice(1) : times;
    const seconds = steady.reduce((a, b) => a + b, 0);
    const cpuSteady = cpu.length > 1 ? cpu.slice(1) : cpu;
    const engineCpuSteady = engineCpu.length > 1 ? engineCpu.slice(1) : engineCpu;
    const peakSteady = peaks.length > 1 ? peaks.slice(1) : peaks;
    const base = times.length > 1 ? atSteady : { prompts: 0, positions: 0, gradRows: 0 };
    const prompts = c.prompts - base.prompts;
    const positions = c.positions - base.positions;
    const gradRows = c.gradRows - base.gradRows;
    const fwd = forwardFlopsPerPosition(cfg, n);
    const flops = positions * fwd + gradRows * n * (2 * fwd + 2 * cfg.dModel * cfg.dVocab);
    runs.push({
      prefixReuse: reuse,
      ...(slabColumns !== undefined && { slabColumns }),
      secondsPerIteration: Number((seconds / steady.length).toFixed(4)),
      firstIterationSeconds: Number(times[0]!.toFixed(3)),
      loadSeconds: Number(loadSeconds.toFixed(1)),
      // CPU seconds per iteration, every thread of the process that computes (this one for tfjs, the engine's for torch).
      cpuSecondsPerIteration: Number(((args.engine === 'tfjs' ? cpuSteady : engineCpuSteady).reduce((a, b) => a + b, 0) / steady.length).toFixed(args.engine === 'tfjs' ? 4 : 2)),
      promptsPerSecond: Number((prompts / seconds).toFixed(1)),
      positionsPerSecond: Number((positions / seconds).toFixed(1)),
      gradientRowsPerIteration: Number((gradRows / steady.length).toFixed(2)),
      achievedTflops: Number((flops / seconds / 1e12).toFixed(4)),
      memory: {
        process: made.raw instanceof TorchEngine ? `torch engine (pid ${pid})` : `this process${threads > 1 ? ` (${threads} worker threads)` : ''}`,
        ...(loaded && { rssLoadedMiB: mib(loaded.now), peakRssLoadingMiB: mib(loaded.peak) }),
        // Peak resident set per iteration (max over the steady ones; the first computes every slot's gradient too).
        [resets ? 'peakRssPerIterationMiB' : 'peakRssSinceStartMiB']: mib(Math.max(...peakSteady)),
        ...(resets && { peakRssFirstIterationMiB: mib(peaks[0]!) }),
        ...(args.engine === 'tfjs' && { nodeMaxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }),
        ...(tfBytes !== undefined && { tfMemoryAfterLoadMiB: mib(tfBytes) }),
        ...(wasmHeap !== undefined && { wasmHeapMiB: mib(wasmHeap) }),
        ...(memory?.peakBytes != null && { peakGpuMemoryGiB: gib(memory.peakBytes) }),
      },
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
/** Reuse off over on, in seconds per iteration: the saving as a ratio measured within this run. */
function prefixRatio(rs: Array<{ prefixReuse: boolean; secondsPerIteration: number }>) {
  const on = rs.find((r) => r.prefixReuse);
  const off = rs.find((r) => !r.prefixReuse);
  return on && off ? { prefixReuseSpeedup: Number((off.secondsPerIteration / on.secondsPerIteration).toFixed(3)) } : {};
}

process.stdout.write(
  `${JSON.stringify({
    bench: 'epo',
    engine: args.engine,
    backend: engineLine,
    preset: presetName ?? null,
    model: modelLine,
    ...(args.engine === 'tfjs' && {
      tfjsWeightGiB: gib(
        tfjsWeightBytes(
          cfg,
          slabModes.some((s) => (s ?? slabColumnsFor(args.backend) ?? 0) > 0),
        ),
      ),
      checkpointSeconds,
    }),
    settings,
    loadAverageAtStart: loadAtStart,
    runs,
    ...prefixRatio(runs as Array<{ prefixReuse: boolean; secondsPerIteration: number }>),
  })}\n`,
);
