// Prefix reuse (the engine protocol's PrefixHint): a child that differs from its parent from position p on is
// computed from p with the parent's keys/values, and must give the values a whole forward gives. Children at
// every p (0, 1 and n-1 included), mixed with hint-less prompts, split over several chunks. On sliding-window models
// (Gemma) the prompts are longer than the window, so children are edited both before the last query's window (the
// parent's keys there still matter to earlier positions) and inside it: the mask must use absolute positions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Objective, PrefixHint } from '../../../core/engine.js';
import { isUserError } from '../../../core/errors.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { FIXTURE_NAMES, MODELS, readGolden, scaledMaxDiff, toObjective } from './helpers.js';

const TOL = 1e-5;

describe.each(FIXTURE_NAMES)('prefix reuse on %s', (name) => {
  const golden = readGolden(name);
  let engine: TfjsEngine;
  let small: TfjsEngine; // tiny chunks: every group splits; the unembedding in slabs of 50 columns
  beforeAll(async () => {
    engine = await TfjsEngine.load(join(MODELS, name), { backend: 'wasm' });
    small = await TfjsEngine.load(join(MODELS, name), { backend: 'wasm', maxChunkFloats: 3 * 6 * engine.shape.dVocab, slabColumns: 50 });
  });
  afterAll(() => {
    engine.dispose();
    small.dispose();
  });

  const parents = golden.prompts;
  const n = parents[0]!.length;
  const children: number[][] = [];
  const hint: PrefixHint = { parents, parentOf: [], from: [] };
  parents.forEach((parent, i) => {
    for (let p = 0; p < n; p++) {
      for (const delta of [1, 7]) {
        const child = parent.slice();
        child[p] = (child[p]! + delta) % 40;
        children.push(child);
        hint.parentOf.push(i);
        hint.from.push(p);
      }
    }
  });
  // A prompt with no parent, and one whose hint says it shares nothing.
  children.push(parents[0]!.slice().reverse());
  hint.parentOf.push(-1);
  hint.from.push(0);
  children.push(parents[1]!.slice());
  hint.parentOf.push(1);
  hint.from.push(0);

  it.each(golden.objectives.map((o) => [o.objective.kind, toObjective(o.objective)] as const))(
    'gives the f and CE of a whole forward for the %s objective',
    async (_kind, objective: Objective) => {
      const whole = await engine.evaluate(children, objective);
      for (const e of [engine, small]) {
        const reused = await e.evaluate(children, objective, { prefix: hint });
        expect(scaledMaxDiff(reused.f, whole.f)).toBeLessThan(TOL);
        expect(scaledMaxDiff(reused.ce, whole.ce)).toBeLessThan(TOL);
      }
    },
  );

  it('covers edits before and inside the sliding window where the model has one', () => {
    const { slidingWindow: W, layerTypes } = engine.model.cfg;
    if (layerTypes?.includes('sliding')) expect(W!).toBeLessThan(n - 1);
  });

  it('refuses a hint that does not describe the batch', async () => {
    const objective = toObjective(golden.objectives[0]!.objective);
    const lie: PrefixHint = { parents, parentOf: [0], from: [n - 1] };
    const other = parents[1]!; // differs from parent 0 before n-1
    const err = await engine.evaluate([other], objective, { prefix: lie }).catch((e: unknown) => e);
    expect(isUserError(err)).toBe(true);
    expect((err as Error).message).toMatch(/differs from parent 0/);
  });
});
