// The per-feature study of a neuron, logit or SAE target (paper Figs. 2 and 3): every valid candidate EPO
// evaluated (thinned on a grid when huge), each seed's frontier, one run's frontier as it grows, and the
// scan's view of the same feature (its distribution and top windows, FeatureJson of core/corpus/result.ts),
// with the rule that says whether dreaming beat the dataset at comparable cross-entropy.
import type { FeatureJson } from '../corpus/result.js';
import { History } from '../epo/history.js';
import { targetKeyJson, type EpoTarget } from '../objectives/kinds/index.js';
import { argmaxF, frontierAcross, undominated, validRows, type Run } from './statistics.js';
import type { DatasetWindow, DreamVsDataset, EvaluatedPoint, FeatureDataset, FeatureStudy } from './types.js';

/**
 * Fig. 3 keeps, of a target's valid candidates, the earliest in each cell of a `ce` x `f` grid over their range,
 * plus every undominated one (the cloud's shape and its upper edge survive; a page of hundreds of targets stays small).
 */
export const FEATURE_GRID = { ce: 32, f: 24 } as const;

/** Fig. 2b draws at most this many iteration counts: T, ceil(T / 4), ceil(T / 16), ... (distinct, >= 1). */
export const GROWTH_STEPS = 4;

export interface FeatureStudyOptions {
  textOf: (ids: number[]) => string | null;
  /** One token as text (for shading); absent without a decoder. */
  tokenText?: (id: number) => string;
}

/** Why: one function gives everything a target's section and its CSVs show, from its runs and the scan's feature. */
export function featureStudy(target: EpoTarget, runs: Run[], feature: FeatureJson | undefined, options: FeatureStudyOptions): FeatureStudy {
  const dataset = feature ? datasetOf(feature, options.tokenText) : null;
  return {
    key: targetKeyJson(target),
    evaluated: evaluatedPoints(runs),
    seedFrontiers: runs.map((r) => ({ seed: r.seed, points: frontierAcross([r], options.textOf, () => null) })),
    growth: growthOf(runs[0]),
    dataset,
    comparison: dataset ? compareWithDataset(runs, dataset) : null,
  };
}

/** The iteration counts Fig. 2b draws for a run of `t` iterations, ascending. */
export function growthSteps(t: number): number[] {
  const steps = new Set<number>();
  for (let d = 1; steps.size < GROWTH_STEPS && d <= 4 * t; d *= 4) steps.add(Math.max(1, Math.ceil(t / d)));
  return [...steps].filter((s) => s <= t).sort((a, b) => a - b);
}

function growthOf(run: Run | undefined): FeatureStudy['growth'] {
  if (!run || run.history.iterations.length === 0) return null;
  const h = run.history;
  return {
    seed: run.seed,
    iterations: h.iterations.length,
    steps: growthSteps(h.iterations.length).map((t) => {
      const prefix = new History(h.seqLen, h.lambdas);
      for (const it of h.iterations.slice(0, t)) prefix.push(it);
      const points = frontierAcross(
        [{ seed: run.seed, history: prefix }],
        () => null,
        () => null,
      );
      return { iterations: t, points: points.map((p) => ({ lambda: p.lambda, f: p.f, ce: p.ce! })) };
    }),
  };
}

/** Valid candidates in (seed, iteration, row) order, thinned by FEATURE_GRID; `total` counts every valid one (repeats included). */
function evaluatedPoints(runs: Run[]): FeatureStudy['evaluated'] {
  const all: EvaluatedPoint[] = [];
  for (const r of runs) {
    r.history.iterations.forEach((it, t) => {
      for (let i = 0; i < it.f.length; i++) if (it.valid[i]) all.push({ seed: r.seed, iteration: t, f: it.f[i]!, ce: it.ce[i]! });
    });
  }
  if (all.length === 0) return { total: 0, points: [] };
  let [fLo, fHi, cLo, cHi] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of all) {
    fLo = Math.min(fLo, p.f);
    fHi = Math.max(fHi, p.f);
    cLo = Math.min(cLo, p.ce);
    cHi = Math.max(cHi, p.ce);
  }
  const cell = (x: number, lo: number, hi: number, n: number) => (hi > lo ? Math.min(n - 1, Math.floor(((x - lo) / (hi - lo)) * n)) : 0);
  const keep = new Uint8Array(all.length);
  const seen = new Set<number>();
  all.forEach((p, g) => {
    const c = cell(p.ce, cLo, cHi, FEATURE_GRID.ce) * FEATURE_GRID.f + cell(p.f, fLo, fHi, FEATURE_GRID.f);
    if (!seen.has(c)) {
      seen.add(c);
      keep[g] = 1;
    }
  });
  for (const g of undominated(
    all.length,
    (i) => all[i]!.f,
    (i) => all[i]!.ce,
  ))
    keep[g] = 1;
  return { total: all.length, points: all.filter((_, g) => keep[g]) };
}

function datasetOf(feature: FeatureJson, tokenText: ((id: number) => string) | undefined): FeatureDataset {
  return {
    count: feature.count,
    excluded: feature.excluded,
    mean: feature.mean,
    std: feature.std,
    min: feature.min,
    max: feature.max,
    quantiles: feature.quantiles.map((q) => ({ q: q.q, value: q.value })),
    histogram: { zero: feature.histogram.zero, zeroBelow: feature.histogram.zeroBelow, buckets: feature.histogram.buckets.map((b) => ({ lo: b.lo, hi: b.hi, count: b.count })) },
    top: feature.top.map((e, i): DatasetWindow => ({
      rank: i + 1,
      activation: e.activation,
      ce: e.ce,
      ids: [...e.ids],
      text: e.text,
      source: { file: e.source.file, byteOffset: e.source.byteOffset, token: e.source.token },
      activations: e.activations ? [...e.activations] : null,
      tokens: tokenText ? e.ids.map(tokenText) : null,
    })),
  };
}

/**
 * The rule (docs/report.md): the dataset's top window sets the fluency bar (its CE); dreaming beat the dataset
 * when some valid EPO candidate of any seed with CE at most that has a higher activation than the window's.
 */
export function compareWithDataset(runs: Run[], dataset: FeatureDataset): DreamVsDataset | null {
  const top = dataset.top[0];
  if (!top) return null;
  const epo = argmaxF(validRows(runs), (ce) => ce <= top.ce);
  return {
    datasetActivation: top.activation,
    datasetCe: top.ce,
    epoActivation: epo?.f ?? null,
    epoCe: epo?.ce ?? null,
    epoSeed: epo?.seed ?? null,
    beat: epo !== undefined && epo.f > top.activation,
  };
}
