// Engine throughput on a Pythia-70m-shaped random model (d_model 512, 6 layers, 8 heads, vocab 50304, n = 12):
// forward tokens/s (evaluate) and gradient prompts/s (gradients, k = 512). Prints one JSON object.
// Usage: tsx bench/engine.ts [--backend wasm] [--threads 1] [--batch 64] [--grad-batch 8] [--seconds 20]
// --threads N > 1 spreads each batch over N worker threads (PoolEngine), one wasm backend each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeBackend } from '../core/model/backend.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { PoolEngine } from '../core/model/pool-engine.js';
import type { Engine } from '../core/engine.js';
import { makeCheckpoint, seededRandom } from '../test/fixtures/make-checkpoint.js';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' },
    'grad-batch': { type: 'string', default: '8' },
    seconds: { type: 'string', default: '20' },
    n: { type: 'string', default: '12' },
  },
});
const n = Number(args.n);
const batch = Number(args.batch);
const gradBatch = Number(args['grad-batch']);
const budgetMs = Number(args.seconds) * 1000;

const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-bench-'));
try {
  const t0 = performance.now();
  makeCheckpoint(dir, {
    dModel: 512,
    nHeads: 8,
    nLayers: 6,
    dVocab: 50304,
    tokenizerVocab: 300,
    rotaryPct: 0.25,
    parallel: true,
    dialect: 'classic',
    dtype: 'F16',
    seed: 70,
  });
  const threads = Number(args.threads);
  const engine: Engine = threads > 1 ? await PoolEngine.load(dir, { threads, backend: args.backend }) : await TfjsEngine.load(dir, { backend: args.backend });
  const loadS = (performance.now() - t0) / 1000;
  const V = engine.shape.dVocab;
  const rand = seededRandom(1);
  const prompts = (B: number) => Array.from({ length: B }, () => Array.from({ length: n }, () => Math.floor(rand() * V)));
  const vector = Float32Array.from({ length: 512 }, () => rand() - 0.5);
  const objective = { kind: 'resid' as const, layer: 4, vector };
  const allowed = new Uint8Array(V).fill(1);

  const timeIt = async (fn: () => Promise<unknown>) => {
    await fn(); // warm-up
    let reps = 0;
    const start = performance.now();
    while (performance.now() - start < budgetMs / 2 || reps < 2) {
      await fn();
      reps++;
    }
    return { reps, seconds: (performance.now() - start) / 1000 };
  };
  const fwd = await timeIt(() => engine.evaluate(prompts(batch), objective));
  const grad = await timeIt(() => engine.gradients(prompts(gradBatch), Array(gradBatch).fill(1), objective, 512, { allowed }));
  process.stdout.write(
    JSON.stringify({
      model: 'pythia-70m-shaped random (d_model 512, 6 layers, 8 heads, d_mlp 2048, vocab 50304)',
      backend: describeBackend() ?? engine.backend,
      threads,
      node: process.version,
      n,
      load_seconds: +loadS.toFixed(2),
      forward: { batch, reps: fwd.reps, tokens_per_s: +((fwd.reps * batch * n) / fwd.seconds).toFixed(1), prompts_per_s: +((fwd.reps * batch) / fwd.seconds).toFixed(2) },
      gradient: { batch: gradBatch, k: 512, reps: grad.reps, prompts_per_s: +((grad.reps * gradBatch) / grad.seconds).toFixed(2) },
    }) + '\n',
  );
  engine.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
