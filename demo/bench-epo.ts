// EPO seconds per iteration on the demo model at the demo sweep's settings (sweeps/demo.yaml), for sizing
// that sweep. Prints one JSON object. Usage: tsx demo/bench-epo.ts [--model demo/model] [--iters 10]
//   [--children 32] [--topk 128] [--backend wasm]
import { parseArgs } from 'node:util';
import { EPO_DEFAULTS } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { withBos } from '../core/model/bos.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { parseObjective } from '../core/objectives/spec.js';
import { DEMO_MODEL_DIR } from './data.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: DEMO_MODEL_DIR },
    backend: { type: 'string', default: 'wasm' },
    iters: { type: 'string', default: '10' },
    population: { type: 'string', default: '8' },
    children: { type: 'string', default: '32' },
    topk: { type: 'string', default: '128' },
    'seq-len': { type: 'string', default: '12' },
    objective: { type: 'string', default: 'resid:2:random:1' },
  },
});
const engine = withBos(await TfjsEngine.load(args.model, { backend: args.backend }));
const objective = parseObjective(args.objective, engine.shape, engine.tokenizer);
const settings = {
  ...EPO_DEFAULTS,
  iters: Number(args.iters),
  population: Number(args.population),
  children: Number(args.children),
  topk: Number(args.topk),
  seqLen: Number(args['seq-len']),
  seed: 1,
};
const times: number[] = [];
let last = performance.now();
await epo(engine, objective, settings, {
  onProgress: () => {
    const now = performance.now();
    times.push((now - last) / 1000);
    last = now;
  },
});
engine.dispose();
const steady = times.slice(1); // the first iteration also computes every slot's gradient
const mean = steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length);
process.stdout.write(
  `${JSON.stringify({
    bench: 'demo-epo',
    backend: engine.backend,
    objective: args.objective,
    settings: { M: settings.population, r: settings.children, k: settings.topk, n: settings.seqLen, iters: settings.iters },
    secondsPerIteration: Number(mean.toFixed(3)),
    firstIterationSeconds: Number(times[0]!.toFixed(3)),
  })}\n`,
);
