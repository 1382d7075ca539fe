// EPO seconds per iteration at the paper's Table 1 settings (M = 8, r = 32, k = 512, n = 12) on a random GPT-NeoX
// of Pythia's vocabulary (50304), with prefix reuse off and on in the same run, so the saving shows as a ratio.
// Per iteration it also counts prompts evaluated and token positions computed (evaluate and gradients).
// Prints one JSON object.
// Usage: tsx bench/epo.ts [--shape small|70m|160m|410m] [--threads 1] [--backend wasm] [--iters 3] [--modes off,on]
//   small is d_model 128, 4 layers (the scaled-down default); 70m, 160m, 410m are Pythia's real shapes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Engine } from '../core/engine.js';
import { EPO_DEFAULTS } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { describeBackend } from '../core/model/backend.js';
import { PoolEngine } from '../core/model/pool-engine.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { parseObjective } from '../core/objectives/spec.js';
import { makeCheckpoint } from '../test/fixtures/make-checkpoint.js';

/** Pythia's shapes (d_mlp = 4 d_model); `small` is the old scaled-down default. */
const SHAPES: Record<string, { dModel: number; nLayers: number; nHeads: number }> = {
  small: { dModel: 128, nLayers: 4, nHeads: 4 },
  '70m': { dModel: 512, nLayers: 6, nHeads: 8 },
  '160m': { dModel: 768, nLayers: 12, nHeads: 12 },
  '410m': { dModel: 1024, nLayers: 24, nHeads: 16 },
};

const { values: args } = parseArgs({
  options: {
    shape: { type: 'string', default: 'small' },
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '1' },
    iters: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'off,on' },
    'batch-size': { type: 'string', default: String(EPO_DEFAULTS.batchSize) },
  },
});
const shape = SHAPES[args.shape];
if (!shape) throw new Error(`--shape: one of ${Object.keys(SHAPES).join(', ')}`);
const iters = Number(args.iters);
const threads = Number(args.threads);
const n = EPO_DEFAULTS.seqLen;

/** Counts what the engine is asked to compute: prompts, and token positions (a reused prefix is not computed). */
function counting(engine: Engine, reuse: boolean) {
  const c = { prompts: 0, positions: 0 };
  const counted: Engine = Object.create(engine) as Engine;
  counted.evaluate = (ids, objective, options) => {
    c.prompts += ids.length;
    ids.forEach((row, b) => {
      const hinted = reuse && options?.prefix && options.prefix.parentOf[b]! >= 0;
      c.positions += row.length - (hinted ? options!.prefix!.from[b]! : 0);
    });
    return engine.evaluate(ids, objective, options);
  };
  counted.gradients = (ids, ...rest) => {
    c.prompts += ids.length;
    c.positions += ids.length * n;
    return engine.gradients(ids, ...rest);
  };
  return { counted, c };
}

const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-bench-epo-'));
try {
  makeCheckpoint(dir, {
    ...shape, dVocab: 50304, tokenizerVocab: 1024, rotaryPct: 0.25, parallel: true, dialect: 'classic', dtype: 'F32', seed: 12,
  });
  const runs: Record<string, unknown> = {};
  let backend = args.backend;
  for (const mode of args.modes.split(',')) {
    const prefixReuse = mode === 'on';
    const engine: Engine =
      threads > 1
        ? await PoolEngine.load(dir, { threads, backend: args.backend, prefixReuse })
        : await TfjsEngine.load(dir, { backend: args.backend, prefixReuse });
    backend = describeBackend() ?? engine.backend;
    const { counted, c } = counting(engine, prefixReuse);
    const objective = parseObjective(`resid:${Math.floor(shape.nLayers / 2)}:random:1`, engine.shape, engine.tokenizer);
    const times: number[] = [];
    const perIter: Array<{ prompts: number; positions: number }> = [];
    let last = performance.now();
    let seen = { prompts: 0, positions: 0 };
    await epo(counted, objective, { ...EPO_DEFAULTS, iters, batchSize: Number(args['batch-size']), seed: 1 }, {
      onProgress: () => {
        const now = performance.now();
        times.push((now - last) / 1000);
        perIter.push({ prompts: c.prompts - seen.prompts, positions: c.positions - seen.positions });
        seen = { ...c };
        last = now;
      },
    });
    engine.dispose();
    const steady = (xs: number[]) => (xs.length > 1 ? xs.slice(1) : xs); // the first iteration also computes every slot's gradient
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    runs[`reuse_${mode}`] = {
      secondsPerIteration: Number(mean(steady(times)).toFixed(3)),
      firstIterationSeconds: Number(times[0]!.toFixed(3)),
      promptsPerIteration: Math.round(mean(steady(perIter.map((p) => p.prompts)))),
      positionsPerIteration: Math.round(mean(steady(perIter.map((p) => p.positions)))),
    };
  }
  const on = runs['reuse_on'] as { secondsPerIteration: number; positionsPerIteration: number } | undefined;
  const off = runs['reuse_off'] as { secondsPerIteration: number; positionsPerIteration: number } | undefined;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'epo',
      backend,
      threads,
      shape: { name: args.shape, ...shape, dVocab: 50304 },
      settings: { M: EPO_DEFAULTS.population, r: EPO_DEFAULTS.children, k: EPO_DEFAULTS.topk, n, iters },
      ...runs,
      ...(on && off
        ? { speedup: Number((off.secondsPerIteration / on.secondsPerIteration).toFixed(3)), positionRatio: Number((on.positionsPerIteration / off.positionsPerIteration).toFixed(3)) }
        : {}),
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
