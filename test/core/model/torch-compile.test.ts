// The torch engine's `compile` option (torch.compile on the blocks; default on CUDA, off on the CPU) on the CPU, where torch
// allows it (inductor needs a C++ compiler): the compiled engine agrees with the transformers goldens on taps, f, CE
// and the one-hot gradient, and its packed prefix-reuse pass (over parents kept from a gradients request) equals
// computing in full. tiny-gemma2: soft-capped attention, sliding windows, GQA, rotary, post-norms. Skipped without the
// engine's Python or a compiler.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrefixHint } from '../../../core/engine.js';
import { TorchEngine } from '../../../core/model/torch-engine.js';
import { torchPythonAvailable } from '../../../core/model/torch-env.js';
import { MODELS, flat, readGolden, scaledMaxDiff, toObjective } from './helpers.js';

function hasCompiler(): boolean {
  try {
    execFileSync('c++', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const TOL = 1e-4;
const PREFIX_TOL = 1e-5;

describe.skipIf(!torchPythonAvailable() || !hasCompiler())('the torch engine with compile on (cpu, float32, tiny-gemma2)', () => {
  const golden = readGolden('tiny-gemma2');
  let engine: TorchEngine;
  const logs: string[] = [];
  beforeAll(async () => {
    engine = await TorchEngine.load(join(MODELS, 'tiny-gemma2'), { device: 'cpu', dtype: 'float32', threads: 1, compile: true, log: (l) => logs.push(l) });
  }, 300_000);
  afterAll(() => engine?.dispose());

  it('says it compiled', () => {
    expect(engine.hello.compiled).toBe(true);
    expect(engine.describe()).toMatch(/, compiled$/);
    expect(logs.some((l) => l.includes('torch.compile'))).toBe(true);
    // The graphs were compiled while loading (where a worker heartbeats), not in a unit's first call.
    expect(logs.some((l) => /compile: warmed up in [\d.]+ s/.test(l))).toBe(true);
  });

  it('agrees with transformers on taps, f, CE and the one-hot gradient, and reuses prefixes exactly', async () => {
    const got = await engine.taps(golden.prompts, Object.keys(golden.taps), { cePositions: true });
    expect(scaledMaxDiff(got.ce, golden.ce)).toBeLessThan(TOL);
    expect(scaledMaxDiff(got.cePositions!, flat(golden.ce_positions))).toBeLessThan(TOL);
    for (const [tap, values] of Object.entries(golden.taps)) expect(scaledMaxDiff(got.values[tap]!, flat(values)), tap).toBeLessThan(TOL);
    const parents = golden.prompts;
    const n = parents[0]!.length;
    const V = engine.tokenizer.vocabSize;
    const children: number[][] = [];
    const hint: PrefixHint = { parents, parentOf: [], from: [] };
    parents.forEach((parent, j) => {
      for (const p of [0, 1, n - 1]) {
        const child = [...parent];
        child[p] = (child[p]! + 3 + j) % V;
        children.push(child);
        hint.parentOf.push(j);
        hint.from.push(p);
      }
    });
    for (const g of golden.objectives) {
      const objective = toObjective(g.objective);
      const ev = await engine.evaluate(golden.prompts, objective);
      expect(scaledMaxDiff(ev.f, g.f), g.objective.kind).toBeLessThan(TOL);
      expect(scaledMaxDiff(ev.ce, g.ce), g.objective.kind).toBeLessThan(TOL);
      const gr = await engine.gradients(golden.prompts, golden.lambdas, objective, 4, { full: true });
      expect(scaledMaxDiff(gr.grads!, flat(g.grads)), g.objective.kind).toBeLessThan(TOL);
      await engine.gradients(parents, golden.lambdas, objective, 4); // kept as the parents' forward
      const [reused, full] = [await engine.evaluate(children, objective, { prefix: hint }), await engine.evaluate(children, objective)];
      expect(scaledMaxDiff(reused.f, full.f), g.objective.kind).toBeLessThan(PREFIX_TOL);
      expect(scaledMaxDiff(reused.ce, full.ce), g.objective.kind).toBeLessThan(PREFIX_TOL);
    }
  }, 600_000);
});
