// The report's statistics, pure functions of data already read (aggregate.ts does the reading): per
// (layer, vector) z-scores against the random baseline, max z by method, slack curves, frontiers across
// seeds, CE distributions, per-layer summaries, the neuron/logit tables and the notes. Testable without a
// store. Words: the *frontier* is the lambda-grid winners (core/epo/frontier.ts, frontier.json); the
// *non-dominated* rows are the Pareto set in (f up, CE down), a superset of the frontier.
import type { FeatureJson, PairJson, ScanResult } from '../corpus/result.js';
import { paretoFrontier } from '../epo/frontier.js';
import { History } from '../epo/history.js';
import { compareTargetsOf, kindOf, targetLabelOf, type EpoTarget } from '../objectives/kinds/index.js';
import type { SweepPlan } from '../sweep/plan.js';
import { featureStudy, type FeatureStudyOptions } from './features.js';
import type { SweepSpec } from '../sweep/spec.js';
import {
  FIG_TARGETS_MAX,
  RESID_METHODS,
  type CeDistribution,
  type DensityBin,
  type FrontierRow,
  type LayerReport,
  type PairReport,
  type PromptRow,
  type ResidMethod,
  type SlackCurve,
  type Summary,
  type TargetReport,
} from './types.js';

/** Fig. 5c reads the CE distribution at a slack of 3 sigma. */
export const SLACK_FOR_CE_DISTRIBUTION = 3;

// --- one (layer, vector) ------------------------------------------------------------------------------------

export interface Run {
  seed: number;
  history: History;
}

/** Valid candidates of several runs as flat columns, in (seed, iteration, row) order. */
export interface Rows {
  n: number;
  count: number;
  ids: Int32Array[];
  f: Float32Array[];
  ce: Float32Array[];
  valid: Uint8Array[];
  seeds: number[];
}

export interface RowRef {
  f: number;
  ce: number;
  ids: number[];
  seed: number;
}

export function validRows(runs: Run[]): Rows {
  const cols = runs.map((r) => r.history.flat());
  return {
    n: runs[0]?.history.seqLen ?? 0,
    count: cols.reduce((a, c) => a + c.rows, 0),
    ids: cols.map((c) => c.ids),
    f: cols.map((c) => c.f),
    ce: cols.map((c) => c.ce),
    valid: cols.map((c) => c.valid),
    seeds: runs.map((r) => r.seed),
  };
}

/** The earliest valid row with the highest f among those whose CE passes `ok`. */
export function argmaxF(rows: Rows, ok: (ce: number) => boolean): RowRef | undefined {
  let best: [number, number] | undefined;
  let bestF = -Infinity;
  rows.f.forEach((f, h) => {
    const ce = rows.ce[h]!;
    const valid = rows.valid[h]!;
    for (let r = 0; r < f.length; r++) {
      if (valid[r] && f[r]! > bestF && ok(ce[r]!)) {
        bestF = f[r]!;
        best = [h, r];
      }
    }
  });
  if (!best) return undefined;
  const [h, r] = best;
  return { f: rows.f[h]![r]!, ce: rows.ce[h]![r]!, ids: Array.from(rows.ids[h]!.subarray(r * rows.n, (r + 1) * rows.n)), seed: rows.seeds[h]! };
}

/**
 * Indices (ascending) of the undominated of `count` points: no other point has CE <= and f >= with one of
 * them strictly better (of equal (f, CE) the earliest). Points a point of a lower CE bin beats in f are
 * dropped before the sort (bins are monotone in CE, so that point has a strictly lower CE): the same set, and
 * a big history sorts only a few.
 */
export function undominated(count: number, f: (i: number) => number, ce: (i: number) => number): number[] {
  let [cLo, cHi] = [Infinity, -Infinity];
  for (let i = 0; i < count; i++) {
    cLo = Math.min(cLo, ce(i));
    cHi = Math.max(cHi, ce(i));
  }
  const bins = 1024;
  const binOf = (c: number) => (cHi > cLo ? Math.min(bins - 1, Math.floor(((c - cLo) / (cHi - cLo)) * bins)) : 0);
  // below[b]: the highest f in bins < b.
  const below = new Float64Array(bins + 1).fill(-Infinity);
  for (let i = 0; i < count; i++) {
    const b = binOf(ce(i)) + 1;
    if (f(i) > below[b]!) below[b] = f(i);
  }
  for (let b = 1; b <= bins; b++) below[b] = Math.max(below[b]!, below[b - 1]!);
  const order: number[] = [];
  for (let i = 0; i < count; i++) if (!(f(i) <= below[binOf(ce(i))]!)) order.push(i);
  order.sort((a, b) => ce(a) - ce(b) || f(b) - f(a) || a - b);
  const keep: number[] = [];
  let best = -Infinity;
  for (const i of order) {
    if (f(i) > best) {
      keep.push(i);
      best = f(i);
    }
  }
  return keep.sort((a, b) => a - b);
}

/**
 * The non-dominated rows: valid rows no other row beats in both f (up) and CE (down) (the Pareto set; of
 * equal (f, CE) the earliest), plus the earliest row of the highest f (it wins lambda = 0 ties). A superset
 * of the frontier (the lambda-grid winners, core/epo/frontier.ts). The frontier and every
 * "lowest CE among prompts with f >= t" come from these alone, so a big history is reduced once.
 * In candidate order (seed, iteration, row), so paretoFrontier's earliest-wins ties hold.
 */
export function nonDominatedRows(rows: Rows): RowRef[] {
  const hs = new Int32Array(rows.count);
  const rs = new Int32Array(rows.count);
  let n = 0;
  let first = -1;
  rows.f.forEach((f, h) => {
    const valid = rows.valid[h]!;
    for (let r = 0; r < f.length; r++) {
      if (!valid[r]) continue;
      hs[n] = h;
      rs[n] = r;
      if (first < 0 || f[r]! > rows.f[hs[first]!]![rs[first]!]!) first = n;
      n++;
    }
  });
  const F = (i: number) => rows.f[hs[i]!]![rs[i]!]!;
  const C = (i: number) => rows.ce[hs[i]!]![rs[i]!]!;
  const keep = undominated(n, F, C);
  if (first >= 0 && !keep.includes(first)) keep.push(first);
  return keep
    .sort((a, b) => a - b)
    .map((i) => {
      const [h, r] = [hs[i]!, rs[i]!];
      return { f: F(i), ce: C(i), ids: Array.from(rows.ids[h]!.subarray(r * rows.n, (r + 1) * rows.n)), seed: rows.seeds[h]! };
    });
}

/** The Pareto frontier across runs (core/epo/frontier.ts semantics), computed on the undominated rows. */
export function frontierAcross(runs: Run[], textOf: (ids: number[]) => string | null, zOf: (f: number) => number | null): FrontierRow[] {
  const refs = nonDominatedRows(validRows(runs));
  if (refs.length === 0) return [];
  const n = refs[0]!.ids.length;
  const h = new History(n, [0]);
  h.push({
    ids: Int32Array.from(refs.flatMap((r) => r.ids)),
    f: Float32Array.from(refs.map((r) => r.f)),
    ce: Float32Array.from(refs.map((r) => r.ce)),
    valid: new Uint8Array(refs.length).fill(1),
    keep: new Int32Array(1),
    restartLambda: Number.NaN,
  });
  const seedOf = new Map<string, number>();
  for (const r of refs) if (!seedOf.has(r.ids.join(','))) seedOf.set(r.ids.join(','), r.seed);
  return paretoFrontier([h], () => '').map((p) => ({
    lambda: p.lambda,
    f: p.f,
    z: zOf(p.f),
    ce: p.ce,
    perplexity: p.perplexity,
    ids: p.ids,
    text: textOf(p.ids),
    seed: seedOf.get(p.ids.join(',')) ?? null,
  }));
}

function promptOf(r: RowRef, textOf: (ids: number[]) => string | null, zOf: (f: number) => number | null): PromptRow {
  return { f: r.f, z: zOf(r.f), ce: r.ce, perplexity: Math.exp(r.ce), ids: r.ids, text: textOf(r.ids) };
}

export function pairReport(
  layer: number,
  vector: number,
  label: string,
  random: (PairJson & { prompts: number }) | undefined,
  scan: PairJson | undefined,
  runs: Run[],
  planned: number,
  settings: { ceThreshold: number; slack: number[] },
  textOf: (ids: number[]) => string | null,
): PairReport {
  const ref = random && random.mean !== null && random.std !== null && random.std > 0 ? { mean: random.mean, std: random.std, prompts: random.prompts } : null;
  const zOf = (a: number): number | null => (ref ? (a - ref.mean) / ref.std : null);
  const fromTop = (p: PairJson | undefined): PromptRow | null => {
    if (!p || p.max === null) return null;
    const top = p.top[0];
    if (!top) return { f: p.max, z: zOf(p.max), ce: null, perplexity: null, ids: null, text: null };
    return { f: p.max, z: zOf(p.max), ce: top.ce, perplexity: Math.exp(top.ce), ids: [...top.ids], text: top.text };
  };

  const rows = validRows(runs);
  const bestEpo = argmaxF(rows, () => true);
  const bestFluent = argmaxF(rows, (ce) => ce < settings.ceThreshold);
  const best: Record<ResidMethod, PromptRow | null> = {
    random: fromTop(random),
    scan: fromTop(scan),
    epo: bestEpo ? promptOf(bestEpo, textOf, zOf) : null,
    epoFluent: bestFluent ? promptOf(bestFluent, textOf, zOf) : null,
  };
  const maxZ = Object.fromEntries(RESID_METHODS.map((m) => [m, best[m]?.z ?? null])) as Record<ResidMethod, number | null>;

  // Slack: among EPO prompts with z >= zmax - s, the lowest CE (the undominated rows hold every such minimum).
  const und = ref && bestEpo ? nonDominatedRows(rows) : [];
  const zmax = maxZ.epo;
  const lowestCe = (s: number): number | null => {
    if (zmax === null) return null;
    let low = Infinity;
    for (const r of und) if (zOf(r.f)! >= zmax - s && r.ce < low) low = r.ce;
    return Number.isFinite(low) ? low : null;
  };
  return {
    layer,
    vector,
    label,
    random: ref,
    maxZ,
    best,
    epoSeeds: { finished: runs.length, planned },
    slackCe: settings.slack.map(lowestCe),
    ceAtSlack3: lowestCe(SLACK_FOR_CE_DISTRIBUTION),
    frontier: runs.length ? frontierAcross(runs, textOf, zOf) : [],
  };
}

/** A neuron, logit or SAE target: its frontier across seeds, its best prompt under the perplexity cap, its feature study. */
export function targetReport(
  target: Exclude<EpoTarget, { kind: 'resid' }>,
  runs: Run[],
  planned: number,
  cap: number,
  feature: FeatureJson | undefined,
  options: FeatureStudyOptions,
): TargetReport {
  const { textOf } = options;
  const frontier = frontierAcross(runs, textOf, () => null);
  const best = argmaxF(validRows(runs), (ce) => Math.exp(ce) < cap);
  return {
    label: targetLabel(target),
    method: kindOf(target.kind).method as TargetReport['method'],
    target,
    seeds: { finished: runs.length, planned },
    frontier,
    bestUnderCap: best ? { ...promptOf(best, textOf, () => null), seed: best.seed, onFrontier: frontier.some((q) => q.ids?.join(',') === best.ids.join(',')) } : null,
    feature: featureStudy(target, runs, feature, options),
  };
}

// --- summaries ----------------------------------------------------------------------------------------------

/** Fig. 6's row of one layer: each method's max z over the layer's vectors, and CE at slack 3. */
export function layerReport(layer: number, pairs: PairReport[]): LayerReport {
  const mine = pairs.filter((p) => p.layer === layer);
  const maxZ = Object.fromEntries(RESID_METHODS.map((m) => [m, summarize(mine.map((p) => p.maxZ[m]))])) as Record<ResidMethod, Summary>;
  return { layer, vectors: mine.length, maxZ, ceAtSlack3: summarize(mine.map((p) => p.ceAtSlack3)) };
}

/** Fig. 5b: mean lowest CE at each slack, per layer and over all pairs. */
export function slackCurves(layers: number[], pairs: PairReport[], slack: number[]): SlackCurve {
  return {
    slack: [...slack],
    byLayer: layers
      .map((L) =>
        curveOf(
          pairs.filter((p) => p.layer === L),
          slack.length,
        ),
      )
      .map((c, i) => ({ layer: layers[i]!, ...c })),
    all: curveOf(pairs, slack.length),
  };
}

/** Count, mean, unbiased std (n - 1), min, max of the non-null values. */
export function summarize(values: Array<number | null>): Summary {
  const xs = values.filter((x): x is number => x !== null);
  const n = xs.length;
  if (n === 0) return { n, mean: null, std: null, min: null, max: null };
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : null;
  return { n, mean, std, min: Math.min(...xs), max: Math.max(...xs) };
}

function curveOf(pairs: PairReport[], points: number): { meanCe: Array<number | null>; vectors: number[] } {
  const meanCe: Array<number | null> = [];
  const vectors: number[] = [];
  for (let i = 0; i < points; i++) {
    const s = summarize(pairs.map((p) => p.slackCe[i] ?? null));
    meanCe.push(s.mean);
    vectors.push(s.n);
  }
  return { meanCe, vectors };
}

export function ceDistribution(pairs: PairReport[], scan: ScanResult | undefined): CeDistribution {
  const values = pairs.map((p) => p.ceAtSlack3).filter((x): x is number => x !== null);
  const c = scan?.ce;
  const hist = c && c.count > 0 ? c.histogram : undefined;
  // One bin grid for both series, a whole number of the scan's fixed bins wide.
  const step = hist?.width ?? 0.05;
  const corpusRange = hist ? nonzeroRange(hist.counts).map((i) => i * step) : [];
  const byLength = (c?.byLength ?? []).flatMap((l) => (l.mean !== null && l.std !== null ? [{ tokens: l.tokens, windows: l.count, mean: l.mean, std: l.std }] : []));
  if (!values.length && !corpusRange.length) return { epoAtSlack3: [], corpus: null, byLength };
  const lo = Math.min(...values, ...corpusRange);
  const hi = Math.max(...values, ...corpusRange);
  const width = Math.max(1, Math.round(niceWidth((hi - lo) / 30) / step)) * step;
  const start = Math.floor(lo / width + 1e-9) * width;
  const nBins = Math.max(1, Math.ceil((hi - start) / width - 1e-9));
  const densityBins = (counts: number[], total: number): DensityBin[] =>
    counts.map((count, i) => ({ lo: round(start + i * width), hi: round(start + (i + 1) * width), count, density: count / (total * width) }));

  const epoCounts = new Array<number>(nBins).fill(0);
  for (const x of values) epoCounts[Math.min(nBins - 1, Math.floor((x - start) / width + 1e-9))]!++;
  let corpus: CeDistribution['corpus'] = null;
  if (c && hist && c.mean !== null && c.std !== null) {
    const counts = new Array<number>(nBins).fill(0);
    const per = Math.round(width / step);
    const first = Math.round(start / step);
    hist.counts.forEach((count, i) => {
      if (count) counts[Math.min(nBins - 1, Math.max(0, Math.floor((i - first) / per)))]! += count;
    });
    corpus = { seqLen: scan!.config.n, windows: c.count, mean: c.mean, std: c.std, min: c.min, max: c.max, bins: densityBins(counts, c.count) };
  }
  return {
    epoAtSlack3: values.length ? densityBins(epoCounts, values.length) : [],
    corpus,
    byLength,
  };
}

/** [first, last + 1) of the nonzero entries; [0, 0] when all are zero. */
function nonzeroRange(counts: number[]): [number, number] {
  const first = counts.findIndex((x) => x > 0);
  if (first < 0) return [0, 0];
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  return [first, last + 1];
}

function niceWidth(raw: number): number {
  if (!(raw > 0)) return 0.25;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;

export function notesFor(
  plan: SweepPlan,
  layers: number[],
  scan: ScanResult | undefined,
  ce: CeDistribution,
  pairs: PairReport[],
  targets: TargetReport[],
  ceThreshold: number,
  cap: number,
): string[] {
  const notes: string[] = [];
  const noRef = layers.filter((L) => !pairs.some((p) => p.layer === L && p.random));
  // A sweep of targets alone (no layers) has no residual study: nothing to say of z-scores or the corpus column.
  const study = layers.length > 0;
  if (!study) notes.push('The sweep has no residual study (no study.layers): only its neuron, logit and SAE targets are reported.');
  else if (!plan.spec.methods.random) notes.push('The sweep has no random baseline, so it has no z-scores.');
  else if (noRef.length) notes.push(`No random baseline for layer${noRef.length > 1 ? 's' : ''} ${noRef.join(', ')}: z-scores there are unavailable.`);
  const scanGives = study ? 'no corpus column and no corpus CE distribution' : 'no dataset examples for the targets and no corpus CE distribution';
  if (!plan.spec.methods.scan) notes.push(`The sweep has no dataset scan: ${scanGives}.`);
  else if (!scan) notes.push(`The dataset scan has not finished: ${scanGives} yet.`);
  if (ce.corpus) {
    notes.push(
      `The corpus's ${ce.corpus.seqLen}-token windows (${ce.corpus.windows} of them) have CE mean ${ce.corpus.mean.toFixed(3)} and std ${ce.corpus.std.toFixed(3)} ` +
        `(the paper's Pile: 3.7 and 1.1 at 12 tokens).`,
    );
  }
  if (study)
    notes.push(`"EPO (CE < ${ceThreshold})" is the highest-alignment valid EPO prompt with cross-entropy below ${ceThreshold} (Fig. 5e); scan and random are not restricted.`);
  const untexted = [...pairs.flatMap((p) => [...Object.values(p.best), ...p.frontier]), ...targets.flatMap((t) => [...t.frontier, t.bestUnderCap])].some(
    (r) => r && r.ids && r.text === null,
  );
  if (untexted) notes.push('Some prompts are shown as token ids: their text is stored only for frontier points; run with a tokenizer (--model) to decode all.');
  if (targets.length) notes.push(`A target's "best under cap" is the highest-f valid prompt of all its runs with perplexity below ${cap} (Table 3).`);
  if (targets.length > FIG_TARGETS_MAX) {
    notes.push(
      `With ${targets.length} neuron, logit and SAE targets the figure of all their frontiers is left out; each target's section under "Per-target studies" draws its own (Figs. 2a, 3).`,
    );
  }
  return notes;
}

export { vectorLabel } from '../objectives/kinds/resid.js';

/** `resid L3 row 12 of ...`, `neuron L1.N3`, `logit " fox"`, `sae <folder>/<file> #12`: a target as the user named it (its kind's record). */
export function targetLabel(t: EpoTarget, vectors?: SweepSpec['study']['vectors']): string {
  return targetLabelOf(t, vectors);
}

/** Targets in the table's kind order, then each kind's own order. */
export function compareTargets(a: EpoTarget, b: EpoTarget): number {
  return compareTargetsOf(a, b);
}

export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => cmp(a, b)));
}
