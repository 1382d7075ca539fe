// The torch engine against the transformers golden numbers on every fixture checkpoint, on any device and dtype:
// the GPU acceptance's parity step (scripts/gpu-check.sh), where no test runner is at hand. Prints one JSON object
// with the worst scale-relative difference of each quantity and exits 1 when one is over its tolerance.
// float32 tolerances are the tests' (1e-4; prefix reuse 1e-5). bfloat16/float16 keep 8/11 significant bits per
// operation, so a 2-4 layer model's outputs carry relative errors of a few 2^-8: values within 5e-2 of their
// scale, gradients (a backward pass more) within 1e-1, prefix reuse within 2e-2 of the same engine computing in full.
// Not float32: `epo` compares EPO's choices with float32's on the same device (tiny-parallel, seeds 1..--epo-seeds,
// 10 iterations each): the first iteration whose candidates or selection differ; given float32's candidates, how
// often a slot selects another row from the low-precision f and CE; and, on the golden prompts, how often the
// gradient's top-k set at a position differs.
// Usage: tsx bench/torch-parity.ts [--device cuda] [--dtype float32|bfloat16|float16] [--epo-seeds 8]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PrefixHint } from '../core/engine.js';
import { resolveEpoConfig, slotLambdas } from '../core/epo/config.js';
import { epo } from '../core/epo/epo.js';
import { tapNames } from '../core/model/taps.js';
import { TorchEngine } from '../core/model/torch-engine.js';
import type { TorchDtype } from '../core/model/names.js';
import { FIXTURE_NAMES, MODELS, flat, readGolden, scaledMaxDiff, toObjective } from '../test/core/model/helpers.js';

const { values: args } = parseArgs({
  options: { device: { type: 'string', default: 'auto' }, dtype: { type: 'string', default: 'float32' }, 'epo-seeds': { type: 'string', default: '8' } },
});
const dtype = args.dtype as TorchDtype;
const tol = dtype === 'float32' ? { values: 1e-4, grads: 1e-4, prefix: 1e-5 } : { values: 5e-2, grads: 1e-1, prefix: 2e-2 };

const report: Record<string, Record<string, number>> = {};
let device = '';
let failed = false;
for (const name of FIXTURE_NAMES) {
  const golden = readGolden(name);
  const engine = await TorchEngine.load(join(MODELS, name), { device: args.device, dtype });
  device = engine.describe();
  const worst: Record<string, number> = {};
  const note = (key: string, diff: number) => {
    worst[key] = Math.max(worst[key] ?? 0, diff);
  };
  try {
    const names = tapNames(engine.shape);
    const t = await engine.taps(golden.prompts, names, { cePositions: true });
    note('logits', scaledMaxDiff(t.values['logits']!, flat(golden.logits_last)));
    note('ce', scaledMaxDiff(t.ce, golden.ce));
    note('ce', scaledMaxDiff(t.cePositions!, flat(golden.ce_positions)));
    for (const [tap, values] of Object.entries(golden.taps)) note('taps', scaledMaxDiff(t.values[tap]!, flat(values)));
    for (const g of golden.objectives) {
      const objective = toObjective(g.objective);
      const gr = await engine.gradients(golden.prompts, golden.lambdas, objective, 8, { full: true });
      note('f', scaledMaxDiff(gr.f, g.f));
      note('ce', scaledMaxDiff(gr.ce, g.ce));
      note('grads', scaledMaxDiff(gr.grads!, flat(g.grads)));
      // Children of the golden prompts changed at 0, 1 and n-1: with and without the prefix hint.
      const n = golden.prompts[0]!.length;
      const children: number[][] = [];
      const hint: PrefixHint = { parents: golden.prompts, parentOf: [], from: [] };
      for (const p of [0, 1, n - 1]) {
        golden.prompts.forEach((parent, j) => {
          const child = [...parent];
          child[p] = (child[p]! + 17 * (j + 1)) % engine.tokenizer.vocabSize;
          children.push(child);
          hint.parentOf.push(j);
          hint.from.push(p);
        });
      }
      const [full, reused] = await Promise.all([engine.evaluate(children, objective), engine.evaluate(children, objective, { prefix: hint })]);
      note('prefix', Math.max(scaledMaxDiff(reused.f, full.f), scaledMaxDiff(reused.ce, full.ce)));
    }
  } finally {
    engine.dispose();
  }
  for (const [key, diff] of Object.entries(worst)) {
    const limit = key === 'grads' ? tol.grads : key === 'prefix' ? tol.prefix : tol.values;
    if (!(diff < limit)) failed = true;
  }
  report[name] = Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, Number(v.toPrecision(3))]));
}
/** EPO's choices in `dtype` against float32's on one fixture: where the runs part, and top-k sets on the same prompts. */
async function epoChoices(): Promise<Record<string, unknown>> {
  const name = 'tiny-parallel';
  const golden = readGolden(name);
  const objective = toObjective(golden.objectives[0]!.objective);
  const [low, f32] = await Promise.all([
    TorchEngine.load(join(MODELS, name), { device: args.device, dtype }),
    TorchEngine.load(join(MODELS, name), { device: args.device, dtype: 'float32' }),
  ]);
  try {
    const iters = 10;
    const firstDiff: Array<number | null> = [];
    let same = 0;
    let slots = 0;
    let otherRow = 0;
    for (let seed = 1; seed <= Number(args['epo-seeds']); seed++) {
      const config = { iters, population: 4, children: 8, topk: 32, seed };
      const [a, b] = [await epo(low, objective, config), await epo(f32, objective, config)];
      // Selection on float32's candidates: each slot's argmax of f - lambda CE from float32's values and from low's.
      const lambdas = slotLambdas(resolveEpoConfig(config, low.shape.dVocab));
      for (const it of b.history.iterations) {
        const n = it.ids.length / it.f.length;
        const ids = Array.from({ length: it.f.length }, (_, r) => Array.from(it.ids.subarray(r * n, (r + 1) * n)));
        const ev = await low.evaluate(ids, objective);
        const pick = (f: Float32Array, ce: Float32Array, lambda: number) => {
          let best = -1;
          for (let r = 0; r < f.length; r++) if (it.valid[r] && (best < 0 || f[r]! - lambda * ce[r]! > f[best]! - lambda * ce[best]!)) best = r;
          return best;
        };
        for (const lambda of lambdas) {
          slots++;
          if (pick(it.f, it.ce, lambda) !== pick(ev.f, ev.ce, lambda)) otherRow++;
        }
      }
      const at = a.history.iterations.findIndex((it, i) => {
        const w = b.history.iterations[i]!;
        return it.ids.some((v, j) => v !== w.ids[j]) || it.keep.some((v, j) => v !== w.keep[j]);
      });
      firstDiff.push(at < 0 ? null : at);
      same += at < 0 ? iters : at;
    }
    // Top-k (k = 32) at every position of the golden prompts, lambda 1, each objective.
    let positions = 0;
    let differ = 0;
    let missing = 0;
    const k = 32;
    for (const g of golden.objectives) {
      const o = toObjective(g.objective);
      const lambdas = golden.prompts.map(() => 1);
      const [a, b] = [await low.gradients(golden.prompts, lambdas, o, k), await f32.gradients(golden.prompts, lambdas, o, k)];
      for (let p = 0; p < a.topk.length / k; p++) {
        const want = new Set(b.topk.subarray(p * k, (p + 1) * k));
        const out = Array.from(a.topk.subarray(p * k, (p + 1) * k)).filter((t) => !want.has(t)).length;
        positions++;
        if (out > 0) differ++;
        missing += out;
      }
    }
    return {
      fixture: name,
      config: 'iters 10, population 4, children 8, topk 32',
      firstDifferingIteration: firstDiff,
      identicalIterations: `${same}/${firstDiff.length * iters}`,
      selectionDiffering: `${otherRow}/${slots}`,
      topkSetsDiffering: `${differ}/${positions}`,
      topkTokensDiffering: `${missing}/${positions * k}`,
    };
  } finally {
    low.dispose();
    f32.dispose();
  }
}

const epoReport = dtype === 'float32' ? undefined : await epoChoices();
process.stdout.write(`${JSON.stringify({ bench: 'torch-parity', device, dtype, tolerance: tol, pass: !failed, worst: report, ...(epoReport && { epo: epoReport }) })}\n`);
process.exitCode = failed ? 1 : 0;
