// tf.matMul throughput of a backend, float32, in GFLOP/s: square sizes plus the shapes an EPO step of a
// Pythia-12B-sized model multiplies (batch x n rows through the MLP's up-projection and the unembedding).
// Prints one JSON object. Usage: tsx bench/matmul.ts [--backend wasm] [--sizes 256,512,1024] [--shapes 768x5120x20480]
// GPU backends queue work: each timing runs `reps` products back to back and waits once, for the last.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend } from '../core/model/backend.js';
import { seededRandom } from '../test/fixtures/make-checkpoint.js';

/** Best GFLOP/s of [m, k] x [k, n] over `trials` timings of `reps` products each, after a warm-up. */
export async function matmulGflops(m: number, k: number, n: number, options: { reps?: number; trials?: number } = {}): Promise<number> {
  const reps = options.reps ?? 4;
  const trials = options.trials ?? 3;
  const rand = seededRandom(3);
  const a = tf.tensor2d(
    Float32Array.from({ length: m * k }, () => rand() - 0.5),
    [m, k],
  );
  const b = tf.tensor2d(
    Float32Array.from({ length: k * n }, () => rand() - 0.5),
    [k, n],
  );
  const run = async (count: number) => {
    let last: tf.Tensor | undefined;
    for (let i = 0; i < count; i++) {
      last?.dispose();
      last = tf.matMul(a, b);
    }
    // Reading one element of the last product waits for every queued product (GPU queues run in order).
    const probe = tf.slice(last!, [0, 0], [1, 1]);
    await probe.data();
    probe.dispose();
    last!.dispose();
  };
  try {
    await run(1);
    let best = 0;
    for (let t = 0; t < trials; t++) {
      const t0 = performance.now();
      await run(reps);
      best = Math.max(best, (2 * m * k * n * reps) / ((performance.now() - t0) / 1000) / 1e9);
    }
    return best;
  } finally {
    a.dispose();
    b.dispose();
  }
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      backend: { type: 'string', default: 'wasm' },
      sizes: { type: 'string', default: '256,512,1024' },
      shapes: { type: 'string', default: '' },
      reps: { type: 'string', default: '4' },
    },
  });
  await initBackend(args.backend);
  const shapes: Array<[number, number, number]> = [
    ...args.sizes
      .split(',')
      .filter(Boolean)
      .map((s) => [Number(s), Number(s), Number(s)] as [number, number, number]),
    ...args.shapes
      .split(',')
      .filter(Boolean)
      .map((s) => s.split('x').map(Number) as [number, number, number]),
  ];
  const gflops: Record<string, number> = {};
  for (const [m, k, n] of shapes) gflops[`${m}x${k}x${n}`] = +(await matmulGflops(m, k, n, { reps: Number(args.reps) })).toFixed(2);
  process.stdout.write(JSON.stringify({ bench: 'matmul', backend: describeBackend(), dtype: 'float32', gflops }) + '\n');
}

// The file name too: bundled into another script (scripts/gpu-check.sh), import.meta.url is that script's.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && /matmul\.[cm]?[jt]s$/.test(process.argv[1])) await main();
