// aggregateSweep: a sweep's artifacts (plan, random baselines, the merged scan, EPO histories and frontiers)
// turned into the report's numbers: z-scores against the random baseline of each (layer, vector), per-vector
// max z by method, the CE < threshold variant, per-layer summaries, slack curves, CE distributions, and the
// neuron/logit tables. Pure given the store's contents; a partial sweep gives a partial report and says
// what is missing.
import pLimit from 'p-limit';
import type { RandomBaselineResult } from '../baselines/random.js';
import type { PairJson, ScanResult } from '../corpus/result.js';
import { paretoFrontier } from '../epo/frontier.js';
import { decodeHistory, History } from '../epo/history.js';
import { UserError } from '../errors.js';
import type { ArtifactStore } from '../store/index.js';
import { canonicalJson, resultKey, type EpoTarget, type SweepPlan } from '../sweep/plan.js';
import {
  REPORT_FORMAT,
  REPORT_VERSION,
  RESID_METHODS,
  type CeDistribution,
  type DensityBin,
  type FrontierRow,
  type LayerReport,
  type MissingUnit,
  type PairReport,
  type PromptRow,
  type ReportData,
  type ResidMethod,
  type SlackCurve,
  type Summary,
  type TargetReport,
} from './types.js';

/** Table 3's cap: the best prompt with perplexity below 100. */
export const DEFAULT_PERPLEXITY_CAP = 100;
/** Fig. 5c reads the CE distribution at a slack of 3 sigma. */
export const SLACK_FOR_CE_DISTRIBUTION = 3;

export interface AggregateOptions {
  /** Best prompt of a neuron/logit target must have perplexity below this (default 100, as Table 3). */
  perplexityCap?: number;
  /** Turns ids into text (a tokenizer); without it, texts come from stored frontiers and top lists, else stay null. */
  decode?: (ids: number[]) => string;
  /** Store reads in flight at once (default 8). */
  concurrency?: number;
}

export function planKeyOf(sweepId: string): string {
  return `sweeps/${sweepId}/plan.json`;
}

/** Why: the report needs the plan first (and the CLI its model path); a missing plan is a user's mistake. */
export async function readSweepPlan(store: ArtifactStore, sweepId: string): Promise<SweepPlan> {
  const plan = await readJson<SweepPlan>(store, planKeyOf(sweepId));
  if (!plan) {
    throw new UserError('E_REPORT_NO_PLAN', `${store.uri}: no plan for sweep ${sweepId} at ${planKeyOf(sweepId)}; check the ID (dreamsweep sweep list) and the store URI`);
  }
  const p = plan as Partial<SweepPlan>;
  if (typeof p !== 'object' || typeof p.spec !== 'object' || p.spec === null || !Array.isArray(p.units) || typeof p.shape !== 'object') {
    throw new UserError('E_REPORT_INPUT', `${store.uri}: ${planKeyOf(sweepId)} is valid JSON but not a sweep plan (no spec, shape or units); the artifact is damaged: run 'dreamsweep sweep resume' to write it again`);
  }
  return plan;
}

/** Why: the report activity and `dreamsweep report` both start here; everything shown is computed once, in this function. */
export async function aggregateSweep(store: ArtifactStore, sweepId: string, options: AggregateOptions = {}): Promise<ReportData> {
  const cap = options.perplexityCap ?? DEFAULT_PERPLEXITY_CAP;
  if (!(cap > 0)) throw new UserError('E_REPORT_OPTIONS', `perplexityCap: expected a number > 0, got ${cap}`);
  const plan = await readSweepPlan(store, sweepId);
  const limit = pLimit(options.concurrency ?? 8);
  const { ceThreshold, slack } = plan.spec.report;
  const layers = [...plan.spec.study.layers].sort((a, b) => a - b);

  // 1. Which units finished (result.json present). The report unit itself (the sweep's last) is no input.
  const inputs = plan.units.filter((u) => (u.kind as string) !== 'report');
  const finished = await Promise.all(inputs.map((u) => limit(() => store.exists(resultKey(u)))));
  const missing: MissingUnit[] = [];
  const byMethod: ReportData['units']['byMethod'] = {};
  inputs.forEach((u, i) => {
    const m = (byMethod[u.method] ??= { planned: 0, finished: 0 });
    m.planned++;
    if (finished[i]) m.finished++;
    else missing.push({ unit: u.id, method: u.method, key: u.key, reason: 'not finished' });
  });
  const done = inputs.filter((_, i) => finished[i]);
  const artifact = async <T>(u: SweepPlan['units'][number], file: string, read: (key: string) => Promise<T | undefined>): Promise<T | undefined> => {
    const v = await read(`${u.key}/${file}`);
    if (v === undefined) missing.push({ unit: u.id, method: u.method, key: u.key, reason: `${file} missing` });
    return v;
  };
  const texts = new Map<string, string>();
  const remember = (ids: readonly number[] | null | undefined, text: string | undefined) => {
    if (ids && typeof text === 'string' && !texts.has(ids.join(','))) texts.set(ids.join(','), text);
  };

  // 2. Random baselines (the z reference) and the merged scan.
  const randomPairs = new Map<string, PairJson & { prompts: number }>();
  const randomDigests: Array<{ key: string; targets: RandomBaselineResult['targets'] }> = [];
  const randomUnits = done.filter((u) => u.kind === 'random');
  const randoms = await Promise.all(randomUnits.map((u) => limit(() => artifact(u, 'random.json', (k) => readJson<RandomBaselineResult>(store, k)))));
  randoms.forEach((r, i) => {
    if (!r) return;
    randomDigests.push({ key: `${randomUnits[i]!.key}/random.json`, targets: r.targets ?? [] });
    for (const p of r.pairs) {
      randomPairs.set(pairKey(p.layer, p.vector), { ...p, prompts: r.prompts });
      for (const t of p.top) remember(t.ids, t.text);
    }
  });
  let scan: ScanResult | undefined;
  const merge = done.find((u) => u.kind === 'scan-merge');
  if (merge) scan = await artifact(merge, 'scan.json', (k) => readJson<ScanResult>(store, k));
  const scanPairs = new Map<string, PairJson>();
  for (const p of scan?.pairs ?? []) {
    scanPairs.set(pairKey(p.layer, p.vector), p);
    for (const t of p.top) remember(t.ids, t.text);
  }
  if (scan) checkSameVectors(store, randomDigests, { key: `${merge!.key}/scan.json`, targets: scan.config.targets });

  // 3. EPO units, grouped by target; seeds in ascending order so every result is order-independent.
  const groups = new Map<string, { target: EpoTarget; method: SweepPlan['units'][number]['method']; units: Array<SweepPlan['units'][number] & { seed: number }> }>();
  for (const u of inputs) {
    if (u.spec.kind !== 'epo') continue;
    const k = canonicalJson(u.spec.target);
    const g = groups.get(k) ?? { target: u.spec.target, method: u.method, units: [] };
    g.units.push({ ...u, seed: u.spec.seed });
    groups.set(k, g);
  }
  const isDone = new Set(done.map((u) => u.id));
  const loadRuns = async (g: { units: Array<SweepPlan['units'][number] & { seed: number }> }): Promise<Run[]> => {
    const units = g.units.filter((u) => isDone.has(u.id)).sort((a, b) => a.seed - b.seed);
    const runs = await Promise.all(
      units.map((u) =>
        limit(async () => {
          const history = await artifact(u, 'history.safetensors', async (k) => {
            const bytes = await store.get(k);
            return bytes && decodeHistory(bytes, `${store.uri}/${k}`).history;
          });
          const frontier = await artifact(u, 'frontier.json', (k) => readJson<{ points: Array<{ ids: number[]; text: string }> }>(store, k));
          for (const p of frontier?.points ?? []) remember(p.ids, p.text);
          return history ? { seed: u.seed, history } : undefined;
        }),
      ),
    );
    return runs.filter((r): r is Run => r !== undefined);
  };
  const textOf = (ids: number[]): string | null => (options.decode ? options.decode(ids) : (texts.get(ids.join(',')) ?? null));

  // 4. The residual study, pair by pair: z-scores, max z per method, slack, frontier.
  const vectorCount = new Map<number, number>(layers.map((L) => [L, 0]));
  const see = (L: number, v: number) => vectorCount.has(L) && vectorCount.set(L, Math.max(vectorCount.get(L)!, v + 1));
  if ('count' in plan.spec.study.vectors) for (const L of layers) see(L, plan.spec.study.vectors.count - 1);
  for (const k of [...randomPairs.keys(), ...scanPairs.keys()]) see(...parsePairKey(k));
  for (const g of groups.values()) if (g.target.kind === 'resid') see(g.target.layer, g.target.vector);

  const pairs: PairReport[] = [];
  for (const L of layers) {
    for (let v = 0; v < vectorCount.get(L)!; v++) {
      const g = groups.get(canonicalJson({ kind: 'resid', layer: L, vector: v } satisfies EpoTarget));
      const runs = g ? await loadRuns(g) : [];
      pairs.push(pairReport(L, v, randomPairs.get(pairKey(L, v)), scanPairs.get(pairKey(L, v)), runs, g?.units.length ?? 0, { ceThreshold, slack }, textOf));
    }
  }

  // 5. Neuron and logit targets: frontier across seeds, best under the perplexity cap.
  const targets: TargetReport[] = [];
  for (const g of groups.values()) {
    if (g.target.kind === 'resid') continue;
    const runs = await loadRuns(g);
    const frontier = frontierAcross(runs, textOf, () => null);
    const rows = validRows(runs);
    const best = argmaxF(rows, (ce) => Math.exp(ce) < cap);
    targets.push({
      label: targetLabel(g.target),
      method: g.target.kind,
      target: g.target,
      seeds: { finished: runs.length, planned: g.units.length },
      frontier,
      bestUnderCap: best
        ? { ...promptOf(best, textOf, () => null), seed: best.seed, onFrontier: frontier.some((q) => q.ids?.join(',') === best.ids.join(',')) }
        : null,
    });
  }
  targets.sort((a, b) => compareTargets(a.target, b.target));

  // 6. Summaries over vectors.
  const layerReports: LayerReport[] = layers.map((L) => {
    const mine = pairs.filter((p) => p.layer === L);
    const maxZ = Object.fromEntries(RESID_METHODS.map((m) => [m, summarize(mine.map((p) => p.maxZ[m]))])) as Record<ResidMethod, Summary>;
    return { layer: L, vectors: mine.length, maxZ, ceAtSlack3: summarize(mine.map((p) => p.ceAtSlack3)) };
  });
  const slackCurve: SlackCurve = {
    slack: [...slack],
    byLayer: layers.map((L) => curveOf(pairs.filter((p) => p.layer === L), slack.length)).map((c, i) => ({ layer: layers[i]!, ...c })),
    all: curveOf(pairs, slack.length),
  };
  const ce = ceDistribution(pairs, scan);

  const notes = notesFor(plan, layers, scan, ce, pairs, targets, ceThreshold, cap);
  missing.sort((a, b) => cmp(a.unit, b.unit) || cmp(a.reason, b.reason));
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    sweepId: plan.sweepId,
    name: plan.spec.name,
    modelId: plan.modelId,
    vectorsKey: plan.vectorsKey,
    settings: { ceThreshold, slack: [...slack], perplexityCap: cap, seqLen: plan.spec.study.seqLen, layers },
    units: { planned: inputs.length, finished: done.length, byMethod: sortKeys(byMethod) },
    missing,
    notes,
    pairs,
    layers: layerReports,
    slack: slackCurve,
    ce,
    targets,
  };
}

// --- one (layer, vector) ------------------------------------------------------------------------------------

interface Run {
  seed: number;
  history: History;
}

/** Valid candidates of several runs as flat columns, in (seed, iteration, row) order. */
interface Rows {
  n: number;
  count: number;
  ids: Int32Array[];
  f: Float32Array[];
  ce: Float32Array[];
  valid: Uint8Array[];
  seeds: number[];
}

interface RowRef {
  f: number;
  ce: number;
  ids: number[];
  seed: number;
}

function validRows(runs: Run[]): Rows {
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
function argmaxF(rows: Rows, ok: (ce: number) => boolean): RowRef | undefined {
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
 * Valid rows no other row beats at any lambda >= 0 (Pareto-optimal in (f up, CE down); of equal (f, CE) the
 * earliest), plus the earliest row of the highest f (it wins lambda = 0 ties). The frontier and every
 * "lowest CE among prompts with f >= t" come from these alone, so a big history is reduced once.
 */
function undominated(rows: Rows): RowRef[] {
  const order: Array<[number, number, number]> = []; // [h, r, global index]
  let g = 0;
  let maxF = -Infinity;
  let first: [number, number] | undefined;
  rows.f.forEach((f, h) => {
    const valid = rows.valid[h]!;
    for (let r = 0; r < f.length; r++, g++) {
      if (!valid[r]) continue;
      order.push([h, r, g]);
      if (f[r]! > maxF) {
        maxF = f[r]!;
        first = [h, r];
      }
    }
  });
  const F = (x: [number, number, number]) => rows.f[x[0]]![x[1]]!;
  const C = (x: [number, number, number]) => rows.ce[x[0]]![x[1]]!;
  order.sort((a, b) => C(a) - C(b) || F(b) - F(a) || a[2] - b[2]);
  const keep: Array<[number, number, number]> = [];
  let bestF = -Infinity;
  for (const x of order) {
    if (F(x) > bestF) {
      keep.push(x);
      bestF = F(x);
    }
  }
  if (first && !keep.some((x) => x[0] === first![0] && x[1] === first![1])) keep.push([first[0], first[1], -1]);
  const refOf = ([h, r]: [number, number, number]): RowRef & { at: number } => ({
    f: rows.f[h]![r]!,
    ce: rows.ce[h]![r]!,
    ids: Array.from(rows.ids[h]!.subarray(r * rows.n, (r + 1) * rows.n)),
    seed: rows.seeds[h]!,
    at: 0,
  });
  // Back to candidate order (seed, iteration, row) so paretoFrontier's earliest-wins ties hold.
  const globalIndex = (h: number, r: number) => rows.f.slice(0, h).reduce((a, f) => a + f.length, 0) + r;
  return keep
    .map((x) => ({ ...refOf(x), at: globalIndex(x[0], x[1]) }))
    .sort((a, b) => a.at - b.at)
    .map(({ at: _at, ...ref }) => ref);
}

/** The Pareto frontier across runs (core/epo/frontier.ts semantics), computed on the undominated rows. */
function frontierAcross(runs: Run[], textOf: (ids: number[]) => string | null, zOf: (f: number) => number | null): FrontierRow[] {
  const refs = undominated(validRows(runs));
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

function pairReport(
  layer: number,
  vector: number,
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
  const und = ref && bestEpo ? undominated(rows) : [];
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
    random: ref,
    maxZ,
    best,
    epoSeeds: { finished: runs.length, planned },
    slackCe: settings.slack.map(lowestCe),
    ceAtSlack3: lowestCe(SLACK_FOR_CE_DISTRIBUTION),
    frontier: runs.length ? frontierAcross(runs, textOf, zOf) : [],
  };
}

// --- summaries ----------------------------------------------------------------------------------------------

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

function ceDistribution(pairs: PairReport[], scan: ScanResult | undefined): CeDistribution {
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

function notesFor(
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
  if (!plan.spec.methods.random) notes.push('The sweep has no random baseline, so it has no z-scores.');
  else if (noRef.length) notes.push(`No random baseline for layer${noRef.length > 1 ? 's' : ''} ${noRef.join(', ')}: z-scores there are unavailable.`);
  if (!plan.spec.methods.scan) notes.push('The sweep has no dataset scan: no corpus column and no corpus CE distribution.');
  else if (!scan) notes.push('The dataset scan has not finished: no corpus column and no corpus CE distribution yet.');
  if (ce.corpus) {
    notes.push(
      `The corpus's ${ce.corpus.seqLen}-token windows (${ce.corpus.windows} of them) have CE mean ${ce.corpus.mean.toFixed(3)} and std ${ce.corpus.std.toFixed(3)} ` +
        `(the paper's Pile: 3.7 and 1.1 at 12 tokens).`,
    );
  }
  notes.push(`"EPO (CE < ${ceThreshold})" is the highest-alignment valid EPO prompt with cross-entropy below ${ceThreshold} (Fig. 5e); scan and random are not restricted.`);
  const untexted = [...pairs.flatMap((p) => [...Object.values(p.best), ...p.frontier]), ...targets.flatMap((t) => [...t.frontier, t.bestUnderCap])].some(
    (r) => r && r.ids && r.text === null,
  );
  if (untexted) notes.push('Some prompts are shown as token ids: their text is stored only for frontier points; run with a tokenizer (--model) to decode all.');
  if (targets.length) notes.push(`A target's "best under cap" is the highest-f valid prompt of all its runs with perplexity below ${cap} (Table 3).`);
  return notes;
}

// --- helpers ------------------------------------------------------------------------------------------------

function pairKey(layer: number, vector: number): string {
  return `${layer}:${vector}`;
}

function parsePairKey(k: string): [number, number] {
  const [a, b] = k.split(':');
  return [Number(a), Number(b)];
}

export function targetLabel(t: EpoTarget): string {
  if (t.kind === 'resid') return `resid L${t.layer} v${t.vector}`;
  if (t.kind === 'neuron') return `neuron L${t.layer}.N${t.index}`;
  return `logit ${JSON.stringify(t.token)}`;
}

function compareTargets(a: EpoTarget, b: EpoTarget): number {
  const rank = { resid: 0, neuron: 1, logit: 2 } as const;
  if (a.kind !== b.kind) return rank[a.kind] - rank[b.kind];
  if (a.kind === 'neuron' && b.kind === 'neuron') return a.layer - b.layer || a.index - b.index;
  if (a.kind === 'logit' && b.kind === 'logit') return cmp(a.token, b.token) || cmp(a.bannedText ?? '', b.bannedText ?? '');
  return cmp(canonicalJson(a), canonicalJson(b));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => cmp(a, b)));
}

async function readJson<T>(store: ArtifactStore, key: string): Promise<T | undefined> {
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch (e) {
    throw new UserError('E_REPORT_INPUT', `${store.uri}/${key}: not valid JSON (${(e as Error).message}); the artifact is damaged, rerun its unit`, { cause: e });
  }
}

/** The random baselines and the scan must have used the same vectors, or the z-scores mean nothing. */
function checkSameVectors(store: ArtifactStore, randoms: Array<{ key: string; targets: RandomBaselineResult['targets'] }>, scan: { key: string; targets: ScanResult['config']['targets'] }): void {
  const scanByLayer = new Map(scan.targets.map((t) => [t.layer, t]));
  for (const r of randoms) {
    for (const t of r.targets) {
      const s = scanByLayer.get(t.layer);
      if (s && (s.sha256 !== t.sha256 || s.vectors !== t.vectors)) {
        throw new UserError(
          'E_REPORT_INPUT',
          `${store.uri}: ${r.key} and ${scan.key} used different vectors for layer ${t.layer} (${t.vectors} vectors sha256 ${t.sha256.slice(0, 12)} vs ${s.vectors} sha256 ${s.sha256.slice(0, 12)}); they are from different sweeps`,
        );
      }
    }
  }
}
