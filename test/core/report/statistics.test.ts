// The report's statistics on data in memory, no store: z-scores, max z by method, the CE < t variant,
// the non-dominated rows behind the slack curve, and a target's best prompt under the perplexity cap.
import { describe, expect, it } from 'vitest';
import { History } from '../../../core/epo/history.js';
import { Rng } from '../../../core/rng.js';
import { layerReport, pairReport, summarize, targetReport, undominated, type Run } from '../../../core/report/statistics.js';

/** One iteration of a 2-token history: rows [f, ce, valid]. */
function run(seed: number, rows: Array<[number, number, boolean]>): Run {
  const h = new History(2, [0]);
  h.push({
    ids: Int32Array.from(rows.flatMap((_, i) => [seed, 10 + i])),
    f: Float32Array.from(rows.map((r) => r[0])),
    ce: Float32Array.from(rows.map((r) => r[1])),
    valid: Uint8Array.from(rows.map((r) => (r[2] ? 1 : 0))),
    keep: new Int32Array(1),
    restartLambda: Number.NaN,
  });
  return { seed, history: h };
}

const runs = [
  run(0, [
    [3, 6, true],
    [2, 3, true],
    [9, 1, false],
  ]),
  run(1, [
    [1, 2, true],
    [2.5, 5, true],
  ]),
];
const random = { layer: 1, vector: 0, count: 64, mean: 1, std: 0.5, max: 2, top: [], moments: {} as never, prompts: 64 };

describe('report statistics', () => {
  it('scores a (layer, vector) pair against its random baseline', () => {
    const p = pairReport(1, 0, 'L1 v0', random, undefined, runs, 2, { ceThreshold: 4, slack: [0, 2] }, () => null);
    expect(p.maxZ.epo).toBe((3 - 1) / 0.5); // the invalid f = 9 does not count
    expect(p.maxZ.epoFluent).toBe((2 - 1) / 0.5); // best with CE < 4
    expect(p.maxZ.random).toBe((2 - 1) / 0.5);
    expect(p.maxZ.scan).toBeNull();
    // slack 0: CE of the best (6); slack 2 (z >= 4 - 2, so f >= 2): the lowest CE among f >= 2 is 3.
    expect(p.slackCe).toEqual([6, 3]);
    expect(p.epoSeeds).toEqual({ finished: 2, planned: 2 });
    expect(p.frontier.map((r) => [r.f, r.ce, r.seed])).toEqual([
      [3, 6, 0],
      [2, 3, 0],
      [1, 2, 1],
    ]);
    const layer = layerReport(1, [p]);
    expect(layer.maxZ.epo).toEqual(summarize([4]));
  });

  it('picks a target best prompt under the perplexity cap', () => {
    const t = targetReport({ kind: 'neuron', layer: 1, index: 3 }, runs, 3, Math.exp(4), undefined, { textOf: () => null });
    expect(t.bestUnderCap).toMatchObject({ f: 2, ce: 3, seed: 0, onFrontier: true });
    expect(t.seeds).toEqual({ finished: 2, planned: 3 });
  });
});

describe('undominated', () => {
  it('is the Pareto set by brute force (earliest of equal points), with and without ties, wide and narrow CE ranges', () => {
    const rng = Rng.seeded(5);
    for (const [count, grid, spread] of [
      [3000, 0, 6],
      [3000, 8, 6],
      [500, 3, 1e-6],
      [1, 0, 1],
      [0, 0, 1],
    ] as const) {
      const f = Array.from({ length: count }, () => (grid ? rng.int(grid) : rng.normal()));
      const ce = Array.from({ length: count }, () => 2 + (grid ? rng.int(grid) : rng.float()) * spread);
      const brute = f
        .map((_, i) => i)
        .filter((i) => !f.some((_, j) => (ce[j]! <= ce[i]! && f[j]! >= f[i]! && (ce[j]! < ce[i]! || f[j]! > f[i]!)) || (j < i && ce[j] === ce[i] && f[j] === f[i])));
      expect(
        undominated(
          count,
          (i) => f[i]!,
          (i) => ce[i]!,
        ),
      ).toEqual(brute);
    }
  });
});
