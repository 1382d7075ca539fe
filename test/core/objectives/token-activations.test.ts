import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, Objective } from '../../../core/engine.js';
import { openEngine } from '../../../core/model/open-engine.js';
import { tokenActivations } from '../../../core/objectives/token-activations.js';
import { MODELS } from '../model/helpers.js';

// tiny-llama3 has a BOS: the first token's value is f of [BOS, t0], as in every other row the engine computes.
describe.each(['tiny-parallel', 'tiny-llama3'])('tokenActivations on %s', (model) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await openEngine(`${MODELS}/${model}`, { engine: 'tfjs' });
  });
  afterAll(() => engine.dispose());

  it.each<Objective>([
    { kind: 'neuron', layer: 1, index: 3 },
    { kind: 'logit', token: 4 },
  ])('gives f of every prefix, rows of any length ($kind)', async (objective) => {
    const ids = [
      [5, 9, 13, 2, 7],
      [3, 4, 8],
    ];
    const got = await tokenActivations(engine, ids, objective);
    expect(got.map((r) => r.length)).toEqual([5, 3]);
    for (const [r, row] of ids.entries()) {
      for (let m = 1; m <= row.length; m++) {
        const { f } = await engine.evaluate([row.slice(0, m)], objective);
        expect(got[r]![m - 1]).toBe(f[0]);
      }
    }
    // Not constant: the shading would show nothing otherwise.
    expect(new Set(got[0]).size).toBeGreaterThan(1);
  });
});
