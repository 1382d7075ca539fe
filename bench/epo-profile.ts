// Where an EPO iteration's time goes on one tfjs thread: seconds per iteration by tfjs kernel (tf.profile), and the
// matrix products' FLOPs and GFLOP/s, so a comparison with the paper's code can say what dominates. Iterations
// after the first only (the first also computes every member's gradient). Same model and settings as
// `bench:epo --preset`; one thread, because tf.profile sees only its own thread (a pool of N runs each thread's
// share of the same kernels). Timings include the profiler's own per-kernel cost. Prints one JSON object.
// Usage: tsx bench/epo-profile.ts [--backend wasm] [--preset 70m] [--iters 3] [--prefix on|off]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { EPO_DEFAULTS } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { describeBackend } from '../core/model/backend.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { parseObjective } from '../core/objectives/spec.js';
import { preset, presetConfig, writeRandomCheckpoint } from './presets.js';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    preset: { type: 'string', default: '70m' },
    iters: { type: 'string', default: '3' },
    prefix: { type: 'string', default: 'on' },
  },
});
const iters = Number(args.iters);
if (!(iters >= 2)) throw new Error(`--iters: expected at least 2 (the first iteration is left out), got "${args.iters}"`);
const cfg = presetConfig(args.preset);
const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-bench-epo-profile-'));
try {
  writeRandomCheckpoint(dir, cfg, preset(args.preset));
  const engine = await TfjsEngine.load(dir, { backend: args.backend, prefixReuse: args.prefix === 'on' });
  const objective = parseObjective(`resid:${Math.floor(cfg.nLayers / 2)}:random:1`, engine.shape, engine.tokenizer);
  // The profile's kernel list grows as kernels run: its length when the first iteration ends marks where the steady ones start.
  let firstEnd = 0;
  let steadyStart = 0;
  const info = await tf.profile(async () => {
    await epo(
      engine,
      objective,
      { ...EPO_DEFAULTS, iters, seed: 1 },
      {
        onProgress: () => {
          if (firstEnd) return;
          firstEnd = tf.engine().state.activeProfile.kernels.length;
          steadyStart = performance.now();
        },
      },
    );
  });
  const wall = (performance.now() - steadyStart) / 1000;
  engine.dispose();
  const steady = iters - 1;
  // Only registered kernels: tf.profile also lists scopes (custom gradients, named ops) around kernels it lists too.
  const kernels = info.kernels.slice(firstEnd).filter((k) => tf.getKernel(k.name, tf.getBackend()));
  const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
  const byName = new Map<string, { ms: number; calls: number }>();
  let matmulFlops = 0;
  for (const k of kernels) {
    const v = byName.get(k.name) ?? { ms: 0, calls: 0 };
    v.ms += k.kernelTimeMs as number;
    v.calls++;
    byName.set(k.name, v);
    if (k.name === 'BatchMatMul') {
      // 2 m n k per product whatever the transposes: k = |a| / (batch m) and batch m = |out| / n.
      const out = k.outputShapes[0]!;
      matmulFlops += 2 * size(out) * (size(k.inputShapes[0]!) / (size(out) / out[out.length - 1]!));
    }
  }
  const totalMs = [...byName.values()].reduce((s, v) => s + v.ms, 0);
  const matmulMs = byName.get('BatchMatMul')?.ms ?? 0;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'epo-profile',
      backend: describeBackend() ?? args.backend,
      preset: args.preset,
      prefixReuse: args.prefix === 'on',
      settings: { M: EPO_DEFAULTS.population, r: EPO_DEFAULTS.children, k: EPO_DEFAULTS.topk, n: EPO_DEFAULTS.seqLen, iters },
      secondsPerIteration: Number((wall / steady).toFixed(3)),
      kernelSecondsPerIteration: Number((totalMs / 1000 / steady).toFixed(3)),
      matmul: {
        gflopPerIteration: Number((matmulFlops / 1e9 / steady).toFixed(1)),
        gflops: Number((matmulFlops / 1e6 / matmulMs).toFixed(2)),
        share: Number((matmulMs / totalMs).toFixed(3)),
      },
      kernels: [...byName]
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([name, v]) => ({ name, secondsPerIteration: Number((v.ms / 1000 / steady).toFixed(3)), share: Number((v.ms / totalMs).toFixed(3)), calls: v.calls / steady })),
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
