// EPO's frontier quality, measured: base EPO and each section-6 option at an equal budget of evaluated prompts
// (the same iterations; children per iteration are the same for every variant), over several seeds and targets.
// Per variant and target: the median (and range over seeds) of the best f among every valid prompt a run evaluated
// with CE at most each threshold; the hypervolume of that set against a fixed reference point (f_ref, ce_ref):
// the area of (f, CE) space it dominates; evaluations per second and backward passes. Prints one JSON object.
// Same seeds and settings give the same numbers, so two versions of the code compare exactly.
// Usage: tsx bench/epo-quality.ts [--model demo/model] [--objectives resid:1:random:0,...] [--variants base,topk-schedule,...]
//   [--seeds 3] [--iters 60] [--population 8] [--children 16] [--topk 64] [--thresholds 2.9,3.4,6] [--reference 0,8]
//   [--engine torch --dtype bfloat16 --device cuda]   (bf16's frontier against float32's: run it with each dtype)
import { parseArgs } from 'node:util';
import { EPO_DEFAULTS, type EpoConfig } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { describeEngine, openEngine } from '../core/model/open-engine.js';
import { parseObjective } from '../core/objectives/spec.js';
import { DEMO_MODEL_DIR } from '../demo/data.js';

const VARIANTS: Record<string, (topk: number) => Partial<EpoConfig>> = {
  base: () => ({}),
  'topk-schedule': (topk) => ({ topkStart: Math.max(1, Math.round(topk / 8)), topkRamp: 30 }),
  'two-token': () => ({ twoTokenFraction: 0.25 }),
  shift: () => ({ shiftFraction: 0.25 }),
  'gradient-neighbours': () => ({ gradientNeighbours: 3 }),
};

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: DEMO_MODEL_DIR },
    backend: { type: 'string', default: 'wasm' },
    engine: { type: 'string', default: 'tfjs' },
    dtype: { type: 'string' },
    device: { type: 'string' },
    objectives: { type: 'string', default: 'resid:1:random:0,resid:3:random:1,neuron:1:29' },
    variants: { type: 'string', default: 'base' },
    seeds: { type: 'string', default: '3' },
    iters: { type: 'string', default: '60' },
    population: { type: 'string', default: '8' },
    children: { type: 'string', default: '16' },
    topk: { type: 'string', default: '64' },
    'seq-len': { type: 'string', default: '12' },
    // The demo corpus's 12-token CE is 2.41 +- 0.47 (docs/demo.md): about +1 sd, +2 sd, and loose.
    thresholds: { type: 'string', default: '2.9,3.4,6' },
    reference: { type: 'string', default: '0,8' },
  },
});
const thresholds = args.thresholds.split(',').map(Number);
const [fRef, ceRef] = args.reference.split(',').map(Number) as [number, number];
const engine = await openEngine(args.model, { engine: args.engine, backend: args.backend, dtype: args.dtype, device: args.device });
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(4)) : null); // null: no prompt under the threshold

/** Area of (f, CE) space dominated by the points and bounded by (fRef, ceRef): integral over CE of best f so far. */
function hypervolume(points: Array<[number, number]>): number {
  const sorted = points.filter(([f, ce]) => f > fRef && ce < ceRef).sort((a, b) => a[1] - b[1]);
  let area = 0;
  let best = fRef;
  for (let i = 0; i < sorted.length; i++) {
    best = Math.max(best, sorted[i]![0]);
    const next = i + 1 < sorted.length ? sorted[i + 1]![1] : ceRef;
    area += (best - fRef) * (next - sorted[i]![1]);
  }
  return area;
}

const results = [];
for (const variant of args.variants.split(',')) {
  const options = VARIANTS[variant];
  if (!options) throw new Error(`--variants: one of ${Object.keys(VARIANTS).join(', ')}`);
  for (const spec of args.objectives.split(',')) {
    const objective = parseObjective(spec, engine.shape, engine.tokenizer);
    const perSeed: Array<{ best: number[]; hv: number; evalsPerSecond: number; backward: number }> = [];
    for (let seed = 0; seed < Number(args.seeds); seed++) {
      const settings = {
        ...EPO_DEFAULTS,
        iters: Number(args.iters),
        population: Number(args.population),
        children: Number(args.children),
        topk: Number(args.topk),
        seqLen: Number(args['seq-len']),
        seed,
        ...options(Number(args.topk)),
      };
      let counts = { evaluated: 0, backward: 0 };
      const started = performance.now();
      const { history } = await epo(engine, objective, settings, { onProgress: (p) => void (counts = { evaluated: p.evaluated, backward: p.backward }) });
      const seconds = (performance.now() - started) / 1000;
      const best = thresholds.map(() => -Infinity);
      const points: Array<[number, number]> = [];
      for (const it of history.iterations) {
        for (let r = 0; r < it.f.length; r++) {
          if (!it.valid[r]) continue;
          points.push([it.f[r]!, it.ce[r]!]);
          thresholds.forEach((t, j) => {
            if (it.ce[r]! <= t && it.f[r]! > best[j]!) best[j] = it.f[r]!;
          });
        }
      }
      perSeed.push({ best, hv: hypervolume(points), evalsPerSecond: counts.evaluated / seconds, backward: counts.backward });
    }
    const summary = (xs: number[]) => ({ median: round(median(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)) });
    results.push({
      variant,
      objective: spec,
      bestF: Object.fromEntries(thresholds.map((t, j) => [`ce<=${t}`, summary(perSeed.map((s) => s.best[j]!))])),
      hypervolume: summary(perSeed.map((s) => s.hv)),
      evaluationsPerSecond: Number(median(perSeed.map((s) => s.evalsPerSecond)).toFixed(1)),
      backwardPerRun: median(perSeed.map((s) => s.backward)),
    });
  }
}
engine.dispose();
process.stdout.write(
  `${JSON.stringify({
    bench: 'epo-quality',
    backend: await describeEngine(engine),
    settings: { iters: Number(args.iters), M: Number(args.population), r: Number(args.children), k: Number(args.topk), n: Number(args['seq-len']), seeds: Number(args.seeds) },
    reference: { f: fRef, ce: ceRef },
    results,
  })}\n`,
);
