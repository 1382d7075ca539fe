// aggregateSweep: reads a sweep's artifacts (plan, random baselines, the merged scan, EPO histories and
// frontiers) from the store and hands them to the statistics (statistics.ts: z-scores, max z by method,
// the CE < threshold variant, per-layer summaries, slack curves, CE distributions, neuron/logit tables).
// A partial sweep gives a partial report and says what is missing.
import pLimit from 'p-limit';
import type { RandomBaselineResult } from '../baselines/random.js';
import type { PairJson, ScanResult } from '../corpus/result.js';
import { decodeHistory } from '../epo/history.js';
import { UserError } from '../errors.js';
import type { ArtifactStore } from '../store/index.js';
import { canonicalJson } from '../canonical-json.js';
import type { EpoTarget } from '../objectives/target.js';
import { targetKeyJson } from '../objectives/kinds/index.js';
import { resultKey, sweepPlanKey, UNIT_FILES, unitFileKey, type UnitFile } from '../sweep/layout.js';
import type { SweepPlan } from '../sweep/plan.js';
import { readSweepPlan } from '../sweep/plans.js';
import { studyLayers } from '../sweep/spec.js';
import { ceDistribution, cmp, compareTargets, layerReport, notesFor, pairReport, slackCurves, sortKeys, targetReport, vectorLabel, type Run } from './statistics.js';
import { REPORT_FORMAT, REPORT_VERSION, type MissingUnit, type PairReport, type ReportData, type TargetReport } from './types.js';

export { SLACK_FOR_CE_DISTRIBUTION, summarize, targetLabel, vectorLabel } from './statistics.js';

/** Table 3's cap: the best prompt with perplexity below 100. */
export const DEFAULT_PERPLEXITY_CAP = 100;

export interface AggregateOptions {
  /** Best prompt of a neuron/logit target must have perplexity below this (default 100, as Table 3). */
  perplexityCap?: number;
  /** Turns ids into text (a tokenizer); without it, texts come from stored frontiers and top lists, else stay null. */
  decode?: (ids: number[]) => string;
  /** Store reads in flight at once (default 8). */
  concurrency?: number;
  /**
   * Only these neuron/logit/SAE targets (by targetKeyJson), and no residual study (`pairs` empty): what
   * `dreamsweep export` needs of a big sweep, without reading every history.
   */
  onlyTargets?: ReadonlySet<string>;
}

/** The sweep's latest plan's key (the report CLI knows only the sweep ID). */
export const planKeyOf = sweepPlanKey;
export { readSweepPlan };

/**
 * Why: the report activity (with the plan it runs under) and `dreamsweep report` (with the sweep ID: its
 * latest plan) both start here; everything shown is computed once, in this function.
 */
export async function aggregateSweep(store: ArtifactStore, sweep: string | SweepPlan, options: AggregateOptions = {}): Promise<ReportData> {
  const cap = options.perplexityCap ?? DEFAULT_PERPLEXITY_CAP;
  if (!(cap > 0)) throw new UserError('E_REPORT_OPTIONS', `perplexityCap: expected a number > 0, got ${cap}`);
  const plan = typeof sweep === 'string' ? await readSweepPlan(store, sweep) : sweep;
  const limit = pLimit(options.concurrency ?? 8);
  const { ceThreshold, slack } = plan.spec.report;
  // None in a sweep of targets alone: no pairs, no residual summaries.
  const layers = [...studyLayers(plan.spec)].sort((a, b) => a - b);

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
  const artifact = async <T>(u: SweepPlan['units'][number], file: UnitFile, read: (key: string) => Promise<T | undefined>): Promise<T | undefined> => {
    const v = await read(unitFileKey(u, file));
    if (v === undefined) missing.push({ unit: u.id, method: u.method, key: u.key, reason: `${UNIT_FILES[file]} missing` });
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
  const randoms = await Promise.all(randomUnits.map((u) => limit(() => artifact(u, 'random', (k) => readJson<RandomBaselineResult>(store, k)))));
  randoms.forEach((r, i) => {
    if (!r) return;
    const key = unitFileKey(randomUnits[i]!, 'random');
    if (!Array.isArray(r.pairs) || !r.pairs.every((p) => typeof p === 'object' && p !== null && Number.isInteger(p.layer) && Number.isInteger(p.vector) && Array.isArray(p.top))) {
      throw new UserError(
        'E_REPORT_INPUT',
        `${store.uri}/${key}: a random-baseline result without its pairs (layer, vector, top); the file is damaged: delete the unit's ${UNIT_FILES.result} beside it and resume the sweep to redo it`,
      );
    }
    randomDigests.push({ key, targets: r.targets ?? [] });
    for (const p of r.pairs) {
      randomPairs.set(pairKey(p.layer, p.vector), { ...p, prompts: r.prompts });
      for (const t of p.top) remember(t.ids, t.text);
    }
  });
  let scan: ScanResult | undefined;
  const merge = done.find((u) => u.kind === 'scan-merge');
  if (merge) scan = await artifact(merge, 'scan', (k) => readJson<ScanResult>(store, k));
  if (scan && (!Array.isArray(scan.pairs) || typeof scan.config !== 'object' || scan.config === null)) {
    throw new UserError(
      'E_REPORT_INPUT',
      `${store.uri}/${unitFileKey(merge!, 'scan')}: a scan result without its pairs or config; the file is damaged: delete the unit's ${UNIT_FILES.result} beside it and resume the sweep to redo it`,
    );
  }
  const scanPairs = new Map<string, PairJson>();
  for (const p of scan?.pairs ?? []) {
    scanPairs.set(pairKey(p.layer, p.vector), p);
    for (const t of p.top) remember(t.ids, t.text);
  }
  if (scan) checkSameVectors(store, randomDigests, { key: unitFileKey(merge!, 'scan'), targets: scan.config.targets });

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
          const history = await artifact(u, 'history', async (k) => {
            const bytes = await store.get(k);
            return bytes && decodeHistory(bytes, `${store.uri}/${k}`).history;
          });
          const frontier = await artifact(u, 'frontier', (k) => readJson<{ points: Array<{ ids: number[]; text: string }> }>(store, k));
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
  if (plan.spec.study.vectors && 'count' in plan.spec.study.vectors) for (const L of layers) see(L, plan.spec.study.vectors.count - 1);
  for (const k of [...randomPairs.keys(), ...scanPairs.keys()]) see(...parsePairKey(k));
  for (const g of groups.values()) if (g.target.kind === 'resid') see(g.target.layer, g.target.vector);

  const pairs: PairReport[] = [];
  for (const L of options.onlyTargets ? [] : layers) {
    for (let v = 0; v < vectorCount.get(L)!; v++) {
      const g = groups.get(canonicalJson({ kind: 'resid', layer: L, vector: v } satisfies EpoTarget));
      const runs = g ? await loadRuns(g) : [];
      pairs.push(
        pairReport(
          L,
          v,
          vectorLabel(plan.spec.study.vectors, L, v),
          randomPairs.get(pairKey(L, v)),
          scanPairs.get(pairKey(L, v)),
          runs,
          g?.units.length ?? 0,
          { ceThreshold, slack },
          textOf,
        ),
      );
    }
  }

  // 5. Neuron and logit targets: frontier across seeds, best under the perplexity cap.
  // Each is matched with the scan's feature of the same key (scans before version 3 have no features).
  const features = new Map((Array.isArray(scan?.features) ? scan.features : []).map((f) => [f.key, f]));
  const decode = options.decode;
  const tokenText = decode ? (id: number) => decode([id]) : undefined;
  const targets: TargetReport[] = [];
  for (const g of groups.values()) {
    if (g.target.kind === 'resid' || (options.onlyTargets && !options.onlyTargets.has(targetKeyJson(g.target)))) continue;
    targets.push(targetReport(g.target, await loadRuns(g), g.units.length, cap, features.get(targetKeyJson(g.target)), { textOf, ...(tokenText ? { tokenText } : {}) }));
  }
  targets.sort((a, b) => compareTargets(a.target, b.target));

  // 6. Summaries over vectors.
  const layerReports = layers.map((L) => layerReport(L, pairs));
  const slackCurve = slackCurves(layers, pairs, slack);
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

// --- helpers ------------------------------------------------------------------------------------------------

function pairKey(layer: number, vector: number): string {
  return `${layer}:${vector}`;
}

function parsePairKey(k: string): [number, number] {
  const [a, b] = k.split(':');
  return [Number(a), Number(b)];
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
function checkSameVectors(
  store: ArtifactStore,
  randoms: Array<{ key: string; targets: RandomBaselineResult['targets'] }>,
  scan: { key: string; targets: ScanResult['config']['targets'] },
): void {
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
