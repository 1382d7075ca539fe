// The torch engine against the transformers golden numbers on every fixture checkpoint, on any device and dtype:
// the GPU acceptance's parity step (scripts/gpu-check.sh), where no test runner is at hand. Prints one JSON object
// with the worst scale-relative difference of each quantity and exits 1 when one is over its tolerance.
// float32 tolerances are the tests' (1e-4; prefix reuse 1e-5). bfloat16/float16 keep 8/11 significant bits per
// operation, so a 2-4 layer model's outputs carry relative errors of a few 2^-8: values within 5e-2 of their
// scale, gradients (a backward pass more) within 1e-1, prefix reuse within 2e-2 of the same engine computing in full.
// Usage: tsx bench/torch-parity.ts [--device cuda] [--dtype float32|bfloat16|float16]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PrefixHint } from '../core/engine.js';
import { tapNames } from '../core/model/taps.js';
import { TorchEngine } from '../core/model/torch-engine.js';
import type { TorchDtype } from '../core/model/torch-env.js';
import { FIXTURE_NAMES, MODELS, flat, readGolden, scaledMaxDiff, toObjective } from '../test/core/model/helpers.js';

const { values: args } = parseArgs({ options: { device: { type: 'string', default: 'auto' }, dtype: { type: 'string', default: 'float32' } } });
const dtype = args.dtype as TorchDtype;
const tol = dtype === 'float32' ? { values: 1e-4, grads: 1e-4, prefix: 1e-5 } : { values: 5e-2, grads: 1e-1, prefix: 2e-2 };

const report: Record<string, Record<string, number>> = {};
let device = '';
let failed = false;
for (const name of FIXTURE_NAMES) {
  const golden = readGolden(name);
  const engine = await TorchEngine.load(join(MODELS, name), { device: args.device, dtype, prefixGroupOverhead: 0 });
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
process.stdout.write(`${JSON.stringify({ bench: 'torch-parity', device, dtype, tolerance: tol, pass: !failed, worst: report })}\n`);
process.exitCode = failed ? 1 : 0;
