// EPO seconds per iteration at the paper's Table 1 settings (M = 8, r = 32, k = 512, n = 12) on a scaled-down
// random GPT-NeoX (d_model 128, 4 layers, Pythia's 50304-token vocabulary). Prints one JSON object.
// Usage: tsx bench/epo.ts [--backend wasm] [--iters 3] [--d-model 128] [--layers 4]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EPO_DEFAULTS } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { describeBackend } from '../core/model/backend.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { parseObjective } from '../core/objectives/spec.js';
import { makeCheckpoint } from '../test/fixtures/make-checkpoint.js';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    iters: { type: 'string', default: '3' },
    'd-model': { type: 'string', default: '128' },
    layers: { type: 'string', default: '4' },
    'batch-size': { type: 'string', default: '64' },
  },
});
const dModel = Number(args['d-model']);
const nLayers = Number(args.layers);
const iters = Number(args.iters);

const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-bench-epo-'));
try {
  makeCheckpoint(dir, {
    dModel, nHeads: 4, nLayers, dVocab: 50304, tokenizerVocab: 1024, rotaryPct: 0.25,
    parallel: true, dialect: 'classic', dtype: 'F32', seed: 12,
  });
  const engine = await TfjsEngine.load(dir, { backend: args.backend });
  const objective = parseObjective(`resid:${Math.floor(nLayers / 2)}:random:1`, engine.shape, engine.tokenizer);
  const times: number[] = [];
  let last = performance.now();
  let counts = { evaluated: 0, backward: 0 };
  await epo(engine, objective, { ...EPO_DEFAULTS, iters, batchSize: Number(args['batch-size']), seed: 1 }, {
    onProgress: (p) => {
      const now = performance.now();
      times.push((now - last) / 1000);
      last = now;
      counts = { evaluated: p.evaluated, backward: p.backward };
    },
  });
  engine.dispose();
  const steady = times.slice(1); // the first iteration also computes every slot's gradient
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'epo',
      backend: describeBackend() ?? engine.backend,
      model: { dModel, nLayers, dVocab: 50304 },
      settings: { M: EPO_DEFAULTS.population, r: EPO_DEFAULTS.children, k: EPO_DEFAULTS.topk, n: EPO_DEFAULTS.seqLen, iters },
      secondsPerIteration: Number(mean(steady.length ? steady : times).toFixed(3)),
      firstIterationSeconds: Number(times[0]!.toFixed(3)),
      promptsEvaluated: counts.evaluated,
      backwardPasses: counts.backward,
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
