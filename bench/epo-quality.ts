// EPO's fluent end, measured: for each objective and seed, the best f among every valid prompt the run
// evaluated whose CE is at most each threshold, then the median over seeds. Same seeds and settings give the
// same numbers, so two versions of the code compare exactly. Prints one JSON object.
// Usage: tsx bench/epo-quality.ts [--model demo/model] [--objectives resid:1:random:0,neuron:1:29,...]
//   [--seeds 3] [--iters 60] [--population 8] [--children 16] [--topk 64] [--thresholds 2.9,3.4,6]
//   [--engine torch --dtype bfloat16 --device cuda]   (bf16's frontier against float32's: run it with each dtype)
import { parseArgs } from 'node:util';
import { EPO_DEFAULTS } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { describeEngine, openEngine } from '../core/model/open-engine.js';
import { parseObjective } from '../core/objectives/spec.js';
import { DEMO_MODEL_DIR } from '../demo/data.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: DEMO_MODEL_DIR },
    backend: { type: 'string', default: 'wasm' },
    engine: { type: 'string', default: 'tfjs' },
    dtype: { type: 'string' },
    device: { type: 'string' },
    objectives: { type: 'string', default: 'resid:1:random:0,resid:3:random:1,neuron:1:29' },
    seeds: { type: 'string', default: '3' },
    iters: { type: 'string', default: '60' },
    population: { type: 'string', default: '8' },
    children: { type: 'string', default: '16' },
    topk: { type: 'string', default: '64' },
    'seq-len': { type: 'string', default: '12' },
    // The demo corpus's 12-token CE is 2.41 +- 0.47 (docs/demo.md): about +1 sd, +2 sd, and loose.
    thresholds: { type: 'string', default: '2.9,3.4,6' },
  },
});
const thresholds = args.thresholds.split(',').map(Number);
const engine = await openEngine(args.model, { engine: args.engine, backend: args.backend, dtype: args.dtype, device: args.device });
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const results = [];
for (const spec of args.objectives.split(',')) {
  const objective = parseObjective(spec, engine.shape, engine.tokenizer);
  const perSeed: number[][] = [];
  for (let seed = 0; seed < Number(args.seeds); seed++) {
    const settings = {
      ...EPO_DEFAULTS,
      iters: Number(args.iters),
      population: Number(args.population),
      children: Number(args.children),
      topk: Number(args.topk),
      seqLen: Number(args['seq-len']),
      seed,
    };
    const { history } = await epo(engine, objective, settings);
    const best = thresholds.map(() => -Infinity);
    for (const it of history.iterations) {
      for (let r = 0; r < it.f.length; r++) {
        if (!it.valid[r]) continue;
        thresholds.forEach((t, j) => {
          if (it.ce[r]! <= t && it.f[r]! > best[j]!) best[j] = it.f[r]!;
        });
      }
    }
    perSeed.push(best);
  }
  results.push({
    objective: spec,
    bestF: Object.fromEntries(thresholds.map((t, j) => [`ce<=${t}`, { median: Number(median(perSeed.map((b) => b[j]!)).toFixed(4)), seeds: perSeed.map((b) => Number(b[j]!.toFixed(4))) }])),
  });
}
engine.dispose();
process.stdout.write(
  `${JSON.stringify({ bench: 'epo-quality', backend: await describeEngine(engine), settings: { iters: Number(args.iters), M: Number(args.population), r: Number(args.children), k: Number(args.topk), n: Number(args['seq-len']), seeds: Number(args.seeds) }, results })}\n`,
)
