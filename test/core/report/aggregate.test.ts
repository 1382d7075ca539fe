// aggregateSweep against a direct computation from the fixture's artifacts: z-scores, max z per method,
// the CE < threshold variant, slack curves, per-layer mean/std, frontiers, targets and what is missing.
import { beforeAll, describe, expect, it } from 'vitest';
import { paretoFrontier } from '../../../core/epo/frontier.js';
import type { History } from '../../../core/epo/history.js';
import { aggregateSweep } from '../../../core/report/aggregate.js';
import type { ReportData } from '../../../core/report/types.js';
import { LocalStore } from '../../../core/store/index.js';
import { buildFixture, decodeWords, NO_HISTORY, UNFINISHED, type Fixture } from './fixture.js';

/** Every valid row of some histories, in order. */
function rows(hs: History[]): Array<{ f: number; ce: number; ids: number[] }> {
  return hs.flatMap((h) => {
    const c = h.flat();
    const out: Array<{ f: number; ce: number; ids: number[] }> = [];
    for (let r = 0; r < c.rows; r++) if (c.valid[r]) out.push({ f: c.f[r]!, ce: c.ce[r]!, ids: Array.from(c.ids.subarray(r * h.seqLen, (r + 1) * h.seqLen)) });
    return out;
  });
}

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

describe('aggregateSweep', () => {
  let fx: Fixture;
  let data: ReportData;
  beforeAll(async () => {
    fx = await buildFixture();
    data = await aggregateSweep(fx.store, fx.plan.sweepId);
  });

  const epoHistories = (layer: number, vector: number) =>
    fx.plan.units
      .filter((u) => u.spec.kind === 'epo' && u.spec.target.kind === 'resid' && u.spec.target.layer === layer && u.spec.target.vector === vector)
      .sort((a, b) => (a.spec as { seed: number }).seed - (b.spec as { seed: number }).seed)
      .map((u) => fx.histories.get(u.id))
      .filter((h): h is History => h !== undefined);

  it('computes z-scores and per-vector max z of each method from the artifacts', () => {
    expect(data.pairs.map((p) => `${p.layer}:${p.vector}`)).toEqual(['1:0', '1:1', '1:2', '2:0', '2:1', '2:2']);
    for (const p of data.pairs) {
      const r = fx.random.get(p.layer)!.pairs[p.vector]!;
      const s = fx.scan.pairs.find((q) => q.layer === p.layer && q.vector === p.vector)!;
      const z = (a: number) => (a - r.mean!) / r.std!;
      expect(p.random).toEqual({ mean: r.mean, std: r.std, prompts: 64 });
      expect(p.maxZ.random).toBe(z(r.max!));
      expect(p.maxZ.scan).toBe(z(s.max!));
      expect(p.best.scan!.text).toBe(s.top[0]!.text);
      const all = rows(epoHistories(p.layer, p.vector));
      const fluent = all.filter((x) => x.ce < 4);
      expect(p.maxZ.epo).toBe(z(Math.max(...all.map((x) => x.f))));
      expect(p.maxZ.epoFluent).toBe(z(Math.max(...fluent.map((x) => x.f))));
      expect(p.maxZ.epo).toBeLessThan(z(99)); // the invalid row with f = 99 never counts
      // Slack: among prompts with z >= zmax - s, the lowest CE.
      const zmax = Math.max(...all.map((x) => z(x.f)));
      const lowest = (s: number) => Math.min(...all.filter((x) => z(x.f) >= zmax - s).map((x) => x.ce));
      expect(p.slackCe).toEqual([0, 1, 2, 3].map(lowest));
      expect(p.ceAtSlack3).toBe(lowest(3));
    }
  });

  it('averages max z per layer (mean, unbiased std) and the slack curve over vectors', () => {
    for (const l of data.layers) {
      const mine = data.pairs.filter((p) => p.layer === l.layer);
      for (const m of ['random', 'scan', 'epo', 'epoFluent'] as const) {
        const xs = mine.map((p) => p.maxZ[m]!);
        expect(l.maxZ[m].n).toBe(3);
        expect(l.maxZ[m].mean).toBeCloseTo(mean(xs), 12);
        expect(l.maxZ[m].std).toBeCloseTo(sd(xs), 12);
      }
      const c = data.slack.byLayer.find((b) => b.layer === l.layer)!;
      expect(c.meanCe).toEqual([0, 1, 2, 3].map((i) => mean(mine.map((p) => p.slackCe[i]!))));
    }
    expect(data.slack.all.meanCe[3]).toBeCloseTo(mean(data.pairs.map((p) => p.ceAtSlack3!)), 12);
    expect(data.slack.all.vectors).toEqual([6, 6, 6, 6]);
  });

  it('gives the frontier across seeds that paretoFrontier gives on the full histories', () => {
    for (const p of data.pairs) {
      const want = paretoFrontier(epoHistories(p.layer, p.vector), decodeWords);
      expect(p.frontier.map(({ lambda, f, ce, ids, text }) => ({ lambda, f, ce, ids, text }))).toEqual(want.map(({ lambda, f, ce, ids, text }) => ({ lambda, f, ce, ids, text })));
      expect(p.frontier[0]!.f).toBe(p.best.epo!.f);
    }
  });

  it('builds neuron and logit tables: frontier across finished seeds, best prompt under the perplexity cap', () => {
    expect(data.targets.map((t) => [t.label, t.seeds])).toEqual([
      ['neuron L1.N3', { finished: 1, planned: 2 }],
      ['logit " model"', { finished: 1, planned: 2 }],
    ]);
    for (const t of data.targets) {
      const hs = fx.plan.units.filter((u) => u.method === t.method && fx.histories.has(u.id)).map((u) => fx.histories.get(u.id)!);
      expect(t.frontier.map((q) => q.ids)).toEqual(paretoFrontier(hs, decodeWords).map((q) => q.ids));
      const under = rows(hs).filter((x) => Math.exp(x.ce) < 100);
      const best = Math.max(...under.map((x) => x.f));
      expect(t.bestUnderCap!.f).toBe(best);
      expect(t.bestUnderCap!.perplexity).toBeLessThan(100);
    }
  });

  it('lists unfinished units and absent artifacts, and leaves them out of the numbers', () => {
    expect(data.missing.map((m) => [m.unit, m.reason])).toEqual(
      [...UNFINISHED.map((u) => [u, 'not finished']), [NO_HISTORY, 'history.safetensors missing']].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
    expect(data.units.planned - data.units.finished).toBe(UNFINISHED.length);
    expect(data.units.planned).toBe(21); // the report unit itself is no input
    expect(data.pairs.find((p) => p.layer === 2 && p.vector === 1)!.epoSeeds).toEqual({ finished: 1, planned: 2 });
    expect(data.pairs.find((p) => p.layer === 2 && p.vector === 2)!.epoSeeds).toEqual({ finished: 1, planned: 2 });
  });

  it('puts the EPO CE at slack 3 and the corpus CE histogram on one bin grid, each a density', () => {
    const corpus = data.ce.corpus!;
    expect(corpus).toMatchObject({ seqLen: 6, windows: 333 });
    expect(corpus.mean).toBeCloseTo(fx.scan.ce.mean!, 12);
    const area = (bins: typeof corpus.bins) => bins.reduce((a, b) => a + b.density * (b.hi - b.lo), 0);
    expect(data.ce.epoAtSlack3.reduce((a, b) => a + b.count, 0)).toBe(6);
    expect(area(data.ce.epoAtSlack3)).toBeCloseTo(1, 6);
    expect(corpus.bins.reduce((a, b) => a + b.count, 0)).toBe(333);
    expect(area(corpus.bins)).toBeCloseTo(1, 6);
    expect(corpus.bins.map((b) => [b.lo, b.hi])).toEqual(data.ce.epoAtSlack3.map((b) => [b.lo, b.hi]));
    // The scan's fixed 0.05-nat bins regroup whole: each display bin holds exactly the windows in its range.
    const width = corpus.bins[0]!.hi - corpus.bins[0]!.lo;
    expect(Math.round(width / 0.05) * 0.05).toBeCloseTo(width, 9);
    const counts = fx.scan.ce.histogram.counts;
    for (const bin of corpus.bins.slice(1, -1)) {
      const inside = counts.slice(Math.round(bin.lo / 0.05), Math.round(bin.hi / 0.05)).reduce((a, c) => a + c, 0);
      expect(bin.count).toBe(inside);
    }
  });

  it('gives the corpus CE by prompt length for Fig. 5a, from the scan', () => {
    expect(data.ce.byLength.map((l) => l.tokens)).toEqual([2, 3, 4, 5, 6]);
    data.ce.byLength.forEach((l, i) => {
      expect(l.windows).toBe(333);
      expect(l.mean).toBe(fx.scan.ce.byLength[i]!.mean);
      expect(l.std).toBe(fx.scan.ce.byLength[i]!.std);
    });
    // Shorter prompts are harder to predict in the fixture (as in the paper's Pile).
    expect(data.ce.byLength[0]!.mean).toBeGreaterThan(data.ce.byLength.at(-1)!.mean);
  });

  it('is deterministic, and a missing random baseline leaves z-scores out with a note', async () => {
    expect(JSON.stringify(await aggregateSweep(fx.store, fx.plan.sweepId))).toBe(JSON.stringify(data));
    const partial = await buildFixture({ unfinished: ['random/L2'], noHistory: null });
    const d = await aggregateSweep(partial.store, partial.plan.sweepId);
    expect(d.pairs.filter((p) => p.layer === 2).every((p) => p.maxZ.epo === null && p.random === null && p.best.epo !== null)).toBe(true);
    expect(d.notes.some((n) => /No random baseline for layer 2/.test(n))).toBe(true);
  });

  it('explains an unknown sweep with a code', async () => {
    await expect(aggregateSweep(new LocalStore(fx.dir), 'nope-000000000000')).rejects.toMatchObject({ code: 'E_REPORT_NO_PLAN' });
  });

  it('refuses a random-baseline result without its pairs with a code naming the file (not a TypeError)', async () => {
    const damaged = await buildFixture();
    const random = damaged.plan.units.find((u) => u.kind === 'random')!;
    await damaged.store.put(`${random.key}/random.json`, JSON.stringify({ prompts: 8, targets: [] }));
    const err = await aggregateSweep(damaged.store, damaged.plan.sweepId).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_REPORT_INPUT' });
    expect((err as Error).message).toContain(`${random.key}/random.json: a random-baseline result without its pairs`);
  });
});
