// EPO seconds per iteration at the paper's Table 1 settings (M = 8, r = 32, k = 512, n = 12). tfjs: a scaled-down
// random GPT-NeoX (d_model 128, 4 layers, Pythia's 50304-token vocabulary) written as a checkpoint; torch: a
// Pythia shape (--preset) with random weights built on the device. Each run is done with prefix reuse on and
// off (--prefix on,off), reporting s/iteration, prompts and token positions per second, achieved TFLOP/s
// (FLOPs actually run: forward 2 per multiply-add, a gradient row about twice a forward plus x W_E^T) and,
// on a GPU, peak memory. Prints one JSON object.
// Usage: tsx bench/epo.ts [--engine tfjs|torch] [--backend wasm] [--preset 70m] [--dtype float32] [--device cpu]
//        [--threads 2] [--iters 3] [--batch-size 256] [--prefix on,off] [--d-model 128] [--layers 4]
//        [--population 8] [--children 32] [--slab-columns 1024,0] [--group-overhead 0,64,192]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Engine, EvaluateOptions, Objective } from '../core/engine.js';
import { EPO_DEFAULTS } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { describeBackend } from '../core/model/backend.js';
import type { ModelConfig } from '../core/model/config.js';
import { PoolEngine } from '../core/model/pool-engine.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { TorchEngine } from '../core/model/torch-engine.js';
import type { TorchDtype } from '../core/model/torch-env.js';
import { parseObjective } from '../core/objectives/spec.js';
import { forwardFlopsPerPosition, idTokenizer, pythiaConfig, PYTHIA_TOKENIZER_VOCAB, writeRandomCheckpoint } from './pythia.js';

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
    // What a group of prefix-reuse prompts costs in positions (the torch engine's prefixGroupOverhead), e.g. 0,64,192; default: the engine's.
    'group-overhead': { type: 'string', default: '' },
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
const overheadModes = listOf(args['group-overhead']);
if (args['group-overhead'] && args.engine !== 'torch') throw new Error('--group-overhead: an option of the torch engine (the tfjs engine groups children by their exact start)');

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

async function makeEngine(
  reuse: boolean,
  slabColumns: number | undefined,
  prefixGroupOverhead: number | undefined,
  dir: string,
): Promise<{ engine: Engine; cfg: ModelConfig; describe: string }> {
  if (args.engine === 'torch') {
    const cfg = pythiaConfig(args.preset ?? '70m');
    const e = await TorchEngine.random(cfg, idTokenizer(PYTHIA_TOKENIZER_VOCAB), 12, {
      prefixReuse: reuse,
      ...(slabColumns !== undefined && { slabColumns }),
      ...(prefixGroupOverhead !== undefined && { prefixGroupOverhead }),
      ...(args.dtype !== undefined && { dtype: args.dtype as TorchDtype }),
      ...(args.device !== undefined && { device: args.device }),
      ...(args.threads !== undefined && { threads: Number(args.threads) }),
    });
    return { engine: e, cfg, describe: e.describe() };
  }
  if (args.engine !== 'tfjs') throw new Error(`--engine: expected tfjs or torch, got "${args.engine}"`);
  const cfg = args.preset
    ? pythiaConfig(args.preset)
    : { ...pythiaConfig('70m'), dModel: Number(args['d-model']), nLayers: Number(args.layers), nHeads: 4, dHead: Number(args['d-model']) / 4, dMlp: 4 * Number(args['d-model']) };
  writeRandomCheckpoint(dir, cfg);
  // --threads N > 1: a pool of N worker threads, one wasm backend each (as `dreamsweep epo --threads`).
  const threads = Number(args.threads ?? 1);
  if (threads > 1) {
    const pool = await PoolEngine.load(dir, { threads, backend: args.backend, prefixReuse: reuse, slabColumns });
    return { engine: pool, cfg, describe: `${describeBackend() ?? pool.backend} x ${threads} threads` };
  }
  const e = await TfjsEngine.load(dir, { backend: args.backend, prefixReuse: reuse, slabColumns });
  return { engine: e, cfg: e.model.cfg, describe: describeBackend() ?? e.backend };
}

const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-bench-epo-'));
const runs: unknown[] = [];
let engineLine = '';
let model: ModelConfig | undefined;
try {
  const modes = prefixModes.flatMap((r) => slabModes.flatMap((s) => overheadModes.map((o) => [r, s, o] as const)));
  for (const [reuse, slabColumns, groupOverhead] of modes) {
    const made = await makeEngine(reuse, slabColumns, groupOverhead, dir);
    engineLine = made.describe;
    model = made.cfg;
    const { engine, c } = counted(made.engine, reuse);
    const objective = parseObjective(`resid:${Math.floor(made.cfg.nLayers / 2)}:random:1`, engine.shape, engine.tokenizer);
    const times: number[] = [];
    const cpu: number[] = []; // this process's CPU seconds (every thread; not the torch engine's own process)
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    let atSteady = { ...c };
    if (made.engine instanceof TorchEngine) await made.engine.peakMemory(); // resets the peak
    const config = { ...EPO_DEFAULTS, iters, population, children: childrenPer, batchSize: Number(args['batch-size']), seed: Number(args.seed) };
    await epo(engine, objective, config, {
      onProgress: () => {
        const now = performance.now();
        times.push((now - last) / 1000);
        last = now;
        const used = process.cpuUsage(lastCpu);
        cpu.push((used.user + used.system) / 1e6);
        lastCpu = process.cpuUsage();
        if (times.length === 1) atSteady = { ...c }; // the first iteration also computes every slot's gradient
      },
    });
    const memory = made.engine instanceof TorchEngine ? await made.engine.peakMemory() : undefined;
    engine.dispose();
    const steady = times.length > 1 ? times.slice(1) : times;
    const seconds = steady.reduce((a, b) => a + b, 0);
    const cpuSteady = cpu.length > 1 ? cpu.slice(1) : cpu;
    const base = times.length > 1 ? atSteady : { prompts: 0, positions: 0, gradRows: 0 };
    const prompts = c.prompts - base.prompts;
    const positions = c.positions - base.positions;
    const gradRows = c.gradRows - base.gradRows;
    const fwd = forwardFlopsPerPosition(made.cfg, n);
    const flops = positions * fwd + gradRows * n * (2 * fwd + 2 * made.cfg.dModel * made.cfg.dVocab);
    runs.push({
      prefixReuse: reuse,
      ...(slabColumns !== undefined && { slabColumns }),
      ...(groupOverhead !== undefined && { groupOverhead }),
      secondsPerIteration: Number((seconds / steady.length).toFixed(4)),
      firstIterationSeconds: Number(times[0]!.toFixed(3)),
      ...(args.engine === 'tfjs' && { cpuSecondsPerIteration: Number((cpuSteady.reduce((a, b) => a + b, 0) / cpuSteady.length).toFixed(4)) }),
      promptsPerSecond: Number((prompts / seconds).toFixed(1)),
      positionsPerSecond: Number((positions / seconds).toFixed(1)),
      gradientRowsPerIteration: Number((gradRows / steady.length).toFixed(2)),
      achievedTflops: Number((flops / seconds / 1e12).toFixed(4)),
      ...(memory?.peakBytes != null && { peakGpuMemoryGiB: Number((memory.peakBytes / 2 ** 30).toFixed(2)) }),
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
    preset: args.engine === 'torch' ? (args.preset ?? '70m') : (args.preset ?? null),
    model: model && { dModel: model.dModel, nLayers: model.nLayers, dVocab: model.dVocab },
    settings: { M: population, r: childrenPer, k: EPO_DEFAULTS.topk, n, iters, batchSize: Number(args['batch-size']) },
    runs,
    ...prefixRatio(runs as Array<{ prefixReuse: boolean; secondsPerIteration: number }>),
  })}\n`,
);
