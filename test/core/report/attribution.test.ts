// tokenAttribution on the fake engine, where f = sum_p W[p][t_p] is linear: swapping position p to token t
// changes f by W[p][t] - W[p][ids[p]], so the drops are known exactly.
import { describe, expect, it } from 'vitest';
import { attributeBestPrompts, attributionRequests, tokenAttribution } from '../../../core/report/attribution.js';
import { aggregateSweep } from '../../../core/report/aggregate.js';
import { fakeEngine } from '../../helpers/fake-engine.js';
import { buildFixture } from './fixture.js';

describe('tokenAttribution', () => {
  it('gives per position the drop to the worst and to the best of the top-k gradient substitutes', async () => {
    const engine = fakeEngine({ vocab: 64, seqLen: 6, seed: 3 });
    const ids = [5, 9, 11, 40, 2, 17];
    const k = 8;
    const { f, positions } = await tokenAttribution(engine, ids, { kind: 'neuron', layer: 0, index: 0 }, k);
    expect(f).toBeCloseTo(
      ids.reduce((a, t, p) => a + engine.W[p]![t]!, 0),
      5,
    );
    positions.forEach((pos, p) => {
      // The fake's gradient top-k at lambda 0 is W[p] sorted descending, over the allowed (non-special) tokens.
      const subs = Array.from(engine.W[p]!, (w, t) => ({ w, t }))
        .filter(({ t }) => t !== ids[p] && !engine.tokenizer.specialIds.has(t))
        .sort((a, b) => b.w - a.w || a.t - b.t)
        .slice(0, k);
      const own = engine.W[p]![ids[p]!]!;
      expect(pos.token).toBe(ids[p]);
      expect(pos.text).toBe(`w${ids[p]}`);
      expect(pos.dropFromBest).toBeCloseTo(own - subs[0]!.w, 4);
      expect(pos.dropFromWorst).toBeCloseTo(own - subs[k - 1]!.w, 4);
    });
  });

  it('attributes the best prompts of a sweep: one per layer and one per neuron/logit target', async () => {
    const fx = await buildFixture();
    const data = await aggregateSweep(fx.store, fx.plan.sweepId);
    const reqs = attributionRequests(data);
    expect(reqs.map((r) => r.label)).toEqual([
      expect.stringMatching(/^EPO L1 v\d \(CE < 4\)$/),
      expect.stringMatching(/^EPO L2 v\d \(CE < 4\)$/),
      'neuron L1.N3 (perplexity < 100)',
      'logit " model" (perplexity < 100)',
    ]);
    const engine = fakeEngine({ vocab: 64, seqLen: 6, seed: 3, words: { 7: 'model' } });
    const out = await attributeBestPrompts(engine, fx.store, data, { k: 4 });
    expect(out).toHaveLength(4);
    for (const a of out) {
      expect(a.positions).toHaveLength(6);
      expect(a.k).toBe(4);
    }
  });

  it('rejects a k below 1 with a code', async () => {
    const engine = fakeEngine({ vocab: 16, seqLen: 4 });
    await expect(tokenAttribution(engine, [1, 2, 3, 4], { kind: 'neuron', layer: 0, index: 0 }, 0)).rejects.toMatchObject({ code: 'E_REPORT_OPTIONS' });
  });
});
