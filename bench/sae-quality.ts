// EPO on SAE latents against the corpus, measured on the demo model with the SAE demo/train-sae.ts trains on it
// (demo/sae: 512 ReLU latents on resid_post.1). Prints one JSON object (kept in bench/results/sae-quality.json).
//   1. Brute force: every window of n tokens (stride 1) of the corpus shards given (default the held-out shard),
//      the SAE's tap at the last token and the window's CE in one `taps` pass, every latent encoded from that; each
//      chosen latent's best window is re-evaluated with the engine's `evaluate` on the `sae` objective (the two
//      must agree). The CE thresholds are the median and the 90th percentile of those windows' CE.
//   2. Latents: a seeded draw (--latent-seed) of --latents latents among those that fire on at least 1% and
//      under 50% of the windows (or the list given with --latent-list).
//   3. EPO on `sae:<dir>#<latent>` for --seeds seeds: the best f among every valid prompt a run evaluated with CE
//      at most each threshold (median and range over seeds), next to the best corpus window overall and under each
//      threshold.
// Usage: tsx bench/sae-quality.ts [--sae demo/sae] [--iters 150] [--seeds 3] [--latents 8] [--population 8]
//   [--children 16] [--topk 64] [--seq-len 12] [--shards heldout|all]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { corpusWindows } from '../core/corpus/windows.js';
import { EPO_DEFAULTS } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { withBos } from '../core/model/bos.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { readSae, saeObjective, saeTap } from '../core/objectives/sae.js';
import { parseObjective } from '../core/objectives/spec.js';
import { Rng } from '../core/rng.js';
import { DEMO_DIR, DEMO_MODEL_DIR, HELDOUT_SHARD, TRAIN_SHARDS } from '../demo/data.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: DEMO_MODEL_DIR },
    sae: { type: 'string', default: 'demo/sae' },
    backend: { type: 'string', default: 'wasm' },
    shards: { type: 'string', default: 'heldout' },
    latents: { type: 'string', default: '8' },
    'latent-seed': { type: 'string', default: '0' },
    'latent-list': { type: 'string' },
    seeds: { type: 'string', default: '3' },
    iters: { type: 'string', default: '150' },
    population: { type: 'string', default: '8' },
    children: { type: 'string', default: '16' },
    topk: { type: 'string', default: '64' },
    'seq-len': { type: 'string', default: '12' },
  },
});
const n = Number(args['seq-len']);
const t0 = performance.now();
const seconds = () => Number(((performance.now() - t0) / 1000).toFixed(1));
const progress = (o: Record<string, unknown>) => process.stderr.write(`${JSON.stringify({ ...o, seconds: seconds() })}\n`);
const round = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(3)) : null); // null: nothing under the threshold
const quantile = (sorted: Float32Array, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))]!;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const engine = withBos(await TfjsEngine.load(args.model, { backend: args.backend }));
const sae = readSae(args.sae);
const tap = saeTap(sae, undefined, engine.shape);
const d = sae.dIn;
const S = sae.dSae;

// 1. Every window: the tap and CE.
const shards = args.shards === 'all' ? [...TRAIN_SHARDS, HELDOUT_SHARD] : [HELDOUT_SHARD];
const windows: number[][] = [];
for await (const w of corpusWindows(
  shards.map((uri) => ({ uri })),
  engine.tokenizer,
  { n, stride: 1 },
))
  windows.push(w.ids);
const W = windows.length;
const xs = new Float32Array(W * d);
const ce = new Float32Array(W);
for (let s = 0; s < W; s += 1024) {
  const r = await engine.taps(windows.slice(s, s + 1024), [tap]);
  xs.set(r.values[tap]!, s * d);
  ce.set(r.ce, s);
}
progress({ step: 'corpus taps', windows: W });
const sortedCe = ce.slice().sort();
const thresholds = [quantile(sortedCe, 0.5), quantile(sortedCe, 0.9)].map((t) => Number(t.toFixed(2)));

// Every latent on every window: firing counts, and per latent the best window overall and under each threshold.
const fires = new Float64Array(S);
const best = Array.from({ length: S }, () => ({ all: [-Infinity, -1], under: thresholds.map(() => [-Infinity, -1]) }));
const wEncT = tf.tensor2d(sae.wEnc, [d, S]);
const bEncT = tf.tensor1d(sae.bEnc);
const bDecT = tf.tensor1d(sae.bDec ?? new Float32Array(d));
for (let s = 0; s < W; s += 2048) {
  const rows = Math.min(2048, W - s);
  const f = tf.tidy(() => tf.relu(tf.add(tf.matMul(tf.sub(tf.tensor2d(xs.subarray(s * d, (s + rows) * d), [rows, d]), bDecT), wEncT), bEncT)).dataSync());
  for (let i = 0; i < rows; i++) {
    const w = s + i;
    for (let j = 0; j < S; j++) {
      const v = f[i * S + j]!;
      if (v <= 0) continue;
      fires[j]!++;
      const b = best[j]!;
      if (v > b.all[0]!) b.all = [v, w];
      thresholds.forEach((t, k) => {
        if (ce[w]! <= t && v > b.under[k]![0]!) b.under[k] = [v, w];
      });
    }
  }
}
tf.dispose([wEncT, bEncT, bDecT]);
const rate = Array.from(fires, (c) => c / W);

// 2. The latents.
let latents: number[];
const eligible = rate.flatMap((r, j) => (r >= 0.01 && r < 0.5 ? [j] : []));
if (args['latent-list']) latents = args['latent-list'].split(',').map(Number);
else {
  const rng = Rng.seeded(Number(args['latent-seed']));
  const pool = [...eligible];
  latents = [];
  while (latents.length < Number(args.latents) && pool.length) latents.push(pool.splice(rng.int(pool.length), 1)[0]!);
  latents.sort((a, b) => a - b);
}
progress({ step: 'latents', latents, eligible: eligible.length, live: rate.filter((r) => r > 0).length });

// 3. EPO per latent and seed.
const settings = { ...EPO_DEFAULTS, iters: Number(args.iters), population: Number(args.population), children: Number(args.children), topk: Number(args.topk), seqLen: n };
const text = (ids: ArrayLike<number>) => engine.tokenizer.decode(Array.from(ids));
const results = [];
for (const latent of latents) {
  const spec = `sae:${args.sae}#${latent}`;
  const objective = parseObjective(spec, engine.shape, engine.tokenizer);
  const b = best[latent]!;
  // The brute force's best window, re-evaluated as the objective the engines compute (SAE read the same way).
  const check = await engine.evaluate([windows[b.all[1]!]!], saeObjective(sae, latent, tap));
  if (Math.abs(check.f[0]! - b.all[0]!) > 1e-3 * Math.max(1, Math.abs(b.all[0]!))) throw new Error(`latent ${latent}: evaluate gives ${check.f[0]}, the brute force ${b.all[0]}`);
  const perSeed: Array<{ best: number[]; texts: string[]; ce: number[]; fired: number; any: number; anyCe: number }> = [];
  for (let seed = 0; seed < Number(args.seeds); seed++) {
    const { history } = await epo(engine, objective, { ...settings, seed });
    const run = { best: thresholds.map(() => -Infinity), texts: thresholds.map(() => ''), ce: thresholds.map(() => NaN), fired: 0, any: -Infinity, anyCe: NaN };
    let [evaluated, positive] = [0, 0];
    for (const it of history.iterations) {
      for (let r = 0; r < it.f.length; r++) {
        if (!it.valid[r]) continue;
        evaluated++;
        if (it.f[r]! > 0) positive++;
        if (it.f[r]! > run.any) [run.any, run.anyCe] = [it.f[r]!, it.ce[r]!];
        thresholds.forEach((t, j) => {
          if (it.ce[r]! <= t && it.f[r]! > run.best[j]!) {
            run.best[j] = it.f[r]!;
            run.ce[j] = it.ce[r]!;
            run.texts[j] = text(it.ids.subarray(r * n, (r + 1) * n));
          }
        });
      }
    }
    run.fired = positive / Math.max(1, evaluated);
    perSeed.push(run);
    progress({ step: 'epo', latent, seed, best: run.best.map(round), any: round(run.any) });
  }
  const top = (j: number) => perSeed.reduce((a, s) => (s.best[j]! > a.best[j]! ? s : a));
  results.push({
    latent,
    objective: spec,
    corpusFiringRate: Number(rate[latent]!.toFixed(4)),
    corpusBest: { f: round(b.all[0]!), ce: round(ce[b.all[1]!]!), text: text(windows[b.all[1]!]!) },
    ...Object.fromEntries(
      thresholds.map((t, j) => {
        const [f, w] = b.under[j]!;
        const fs = perSeed.map((s) => s.best[j]!);
        return [
          `ce<=${t}`,
          {
            corpusBest: w >= 0 ? { f: round(f!), ce: round(ce[w!]!), text: text(windows[w!]!) } : null,
            epo: { median: round(median(fs)), min: round(Math.min(...fs)), max: round(Math.max(...fs)) },
            epoBest: { f: round(top(j).best[j]!), ce: round(top(j).ce[j]!), text: top(j).texts[j] },
          },
        ];
      }),
    ),
    // EPO's best f at any CE (its low-lambda end), and that prompt's CE: median over seeds.
    epoAnyCe: { median: round(median(perSeed.map((s) => s.any))), ceMedian: round(median(perSeed.map((s) => s.anyCe))) },
    // Median over seeds of the fraction of a run's valid prompts on which the latent fired.
    epoFiringFraction: round(median(perSeed.map((s) => s.fired))),
  });
}
engine.dispose();
process.stdout.write(
  `${JSON.stringify({
    bench: 'sae-quality',
    backend: engine.backend,
    sae: { path: args.sae, tap, dSae: S, file: join(DEMO_DIR, 'sae', 'training.json').replace(`${process.cwd()}/`, '') },
    corpus: {
      shards: args.shards,
      windows: W,
      seqLen: n,
      stride: 1,
      ce: { median: thresholds[0], p90: thresholds[1], mean: round(ce.reduce((a, c) => a + c, 0) / W) },
      liveLatents: rate.filter((r) => r > 0).length,
      eligibleLatents: eligible.length,
    },
    latentRule: args['latent-list'] ? 'given' : `seeded draw (seed ${args['latent-seed']}) among latents firing on >= 1% and < 50% of the windows`,
    thresholds: { 'median window CE': thresholds[0], 'p90 window CE': thresholds[1] },
    settings: {
      iters: settings.iters,
      M: settings.population,
      r: settings.children,
      k: settings.topk,
      n,
      seeds: Number(args.seeds),
      lambda: [settings.lambdaMin, settings.lambdaMax],
    },
    results,
    seconds: seconds(),
  })}\n`,
);
