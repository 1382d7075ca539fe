// A small but realistic sweep store for the report tests: a real plan (parseSweep + planUnits), random
// baselines and a merged scan with known statistics, EPO histories (encodeHistory) and frontiers
// (paretoFrontier) with seeded values, some units unfinished and one with an artifact missing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RandomBaselineResult } from '../../../core/baselines/random.js';
import { CE_HISTOGRAM, SCAN_VERSION, type FeatureJson, type PairJson, type ScanResult } from '../../../core/corpus/result.js';
import { kindOf, targetKeyJson, targetLabelOf } from '../../../core/objectives/kinds/index.js';
import { LogHistogram, QUANTILES } from '../../../core/stats/histogram.js';
import { paretoFrontier } from '../../../core/epo/frontier.js';
import { encodeHistory, History } from '../../../core/epo/history.js';
import { Rng } from '../../../core/rng.js';
import { Moments } from '../../../core/stats/moments.js';
import { LocalStore } from '../../../core/store/index.js';
import { planUnits, resultKey, type SweepPlan } from '../../../core/sweep/plan.js';
import { parseSweep, studyLayers } from '../../../core/sweep/spec.js';

export const decodeWords = (ids: number[]) => ids.map((i) => `w${i}`).join(' ');

const SWEEP = `
name: report-fixture
model: { path: /models/none }
study: { layers: [1, 2], vectors: { count: 3, seed: 0 }, seqLen: 6 }
methods:
  random: { prompts: 64, seed: 0, batchSize: 16 }
  scan: { corpus: /corpus/none.jsonl, tokens: 2000, shards: 2, top: 4, batchSize: 8 }
  epo: { runsPerVector: 2, iters: 5, population: 3, children: 4, topk: 8, batchSize: 16, checkpointEvery: 2 }
targets:
  neurons: [{ layer: 1, index: 3 }]
  tokens: [{ token: " model" }]
  seeds: [0, 1]
storage: { uri: /store/none }
report: { ceThreshold: 4, slack: [0, 1, 2, 3] }
`;

/** Units left unfinished (no result.json) and one finished unit whose history is absent. */
export const UNFINISHED = ['epo/L2/v1/s1', 'neuron/L1.N3/s1', 'logit/" model"/s1'];
export const NO_HISTORY = 'epo/L2/v2/s0';

export interface Fixture {
  dir: string;
  store: LocalStore;
  plan: SweepPlan;
  /** Histories as written, by unit id (absent for unfinished ones). */
  histories: Map<string, History>;
  random: Map<number, RandomBaselineResult>;
  scan: ScanResult;
}

/**
 * `features: false` writes a scan without `features` (a sweep from before scan version 3). The features follow
 * FeatureJson (core/corpus/result.ts) field by field: one per neuron/logit target, keyed by targetKeyJson.
 */
export async function buildFixture(options: { unfinished?: string[]; noHistory?: string | null; features?: boolean } = {}): Promise<Fixture> {
  const unfinished = new Set(options.unfinished ?? UNFINISHED);
  const noHistory = options.noHistory === undefined ? NO_HISTORY : options.noHistory;
  const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-report-'));
  const store = new LocalStore(dir);
  const spec = parseSweep(SWEEP, '/sweeps/report-fixture.yaml');
  const counts = new Map(studyLayers(spec).map((L) => [L, 3]));
  const vectorsKey = 'vectors/fixture.json';
  const units = planUnits(spec, 'model-fixture', vectorsKey, counts);
  const plan: SweepPlan = { sweepId: 'report-fixture-0123456789ab', spec, modelId: 'model-fixture', shape: { nLayers: 3, dModel: 8, dMlp: 32, dVocab: 64 }, vectorsKey, units };
  await store.put(`sweeps/${plan.sweepId}/plan.json`, JSON.stringify(plan));
  const rng = Rng.seeded(42);
  await store.put(vectorsKey, JSON.stringify(Object.fromEntries([1, 2].map((L) => [L, [0, 1, 2].map(() => Array.from({ length: 8 }, () => rng.normal()))]))));
  const digests = [1, 2].map((L) => ({ layer: L, vectors: 3, sha256: `sha-${L}` }));
  const n = spec.study.seqLen;
  const ids = () => Array.from({ length: n }, () => 1 + rng.int(63));
  const moments = new Moments().toJSON();

  const pair = (layer: number, vector: number, mean: number, std: number, max: number, ce: number): PairJson => {
    const top = ids();
    return {
      layer,
      vector,
      count: 64,
      mean,
      std,
      max,
      top: [{ ids: top, text: decodeWords(top), alignment: max, ce, source: { file: 'random', byteOffset: 0, token: 0 } }],
      moments,
    };
  };

  const random = new Map<number, RandomBaselineResult>();
  const histories = new Map<string, History>();
  // config.features: the features' keys, kinds and labels, as scan format 3 writes them.
  let scan: (ScanResult & { config: { features?: unknown } }) | undefined;
  for (const u of units) {
    // The report unit (the sweep's last, when the plan has one) is still running while it aggregates.
    if (unfinished.has(u.id) || (u.kind as string) === 'report') continue;
    if (u.spec.kind === 'random') {
      const L = u.spec.layer;
      const r: RandomBaselineResult = {
        format: 'dreamsweep.random',
        version: 1,
        prompts: 64,
        seqLen: n,
        seed: 0,
        vocabulary: 63,
        targets: digests.filter((d) => d.layer === L),
        pairs: [0, 1, 2].map((v) => {
          const mean = 0.2 * v - 0.1 * L;
          const std = 0.5 + 0.25 * v + 0.1 * L;
          return pair(L, v, mean, std, mean + std * (2 + rng.float()), 6 + rng.float());
        }),
      };
      random.set(L, r);
      await store.put(`${u.key}/random.json`, JSON.stringify(r));
    } else if (u.spec.kind === 'scan-merge') {
      scan = {
        format: 'dreamsweep.scan',
        version: SCAN_VERSION,
        config: { n, stride: n, k: 4, textField: 'text', skipBad: false, targets: digests, features: [] },
        shards: [{ uri: '/corpus/none.jsonl' }],
        stoppedBy: 'budget',
        windows: 333,
        tokens: 1998,
        documents: 40,
        documentTokens: 2100,
        skipped: { count: 0, byCode: {}, examples: [] },
        ce: corpusCe(rng, n, 333),
        pairs: [1, 2].flatMap((L) => [0, 1, 2].map((v) => pair(L, v, 0, 1, 3 + 2 * rng.float() + v, 2.5 + 2 * rng.float()))),
        features: [],
      };
      if (options.features === false) {
        delete (scan as Partial<ScanResult>).features;
        delete (scan.config as { features?: unknown }).features;
      } else {
        scan.features = featuresOf(units, rng, n);
        scan.config.features = scan.features.map((f) => ({ key: f.key, kind: f.kind, label: f.label }));
      }
      await store.put(`${u.key}/scan.json`, JSON.stringify(scan));
    } else if (u.spec.kind === 'epo') {
      const M = 3;
      const R = M * 5;
      const h = new History(n, [0.1, 1, 10]);
      const scale = u.spec.target.kind === 'logit' ? 4 : 3;
      for (let t = 0; t < 5; t++) {
        const f = Float32Array.from({ length: R }, () => scale * rng.float() + 0.4 * t);
        const ce = Float32Array.from({ length: R }, () => 1.5 + 7 * rng.float());
        const valid = Uint8Array.from({ length: R }, () => (rng.float() < 0.9 ? 1 : 0));
        // An invalid row with the best f of all: the report must never pick it.
        if (t === 2) {
          f[0] = 99;
          ce[0] = 2;
          valid[0] = 0;
        }
        h.push({ ids: Int32Array.from({ length: R * n }, () => 1 + rng.int(63)), f, ce, valid, keep: Int32Array.from([0, 1, 2]), restartLambda: Number.NaN });
      }
      if (u.id !== noHistory) {
        await store.put(`${u.key}/history.safetensors`, encodeHistory(h, { unit: u.id }));
        histories.set(u.id, h);
      }
      const points = paretoFrontier([h], decodeWords);
      await store.put(`${u.key}/frontier.json`, JSON.stringify({ unit: u.id, target: u.spec.target, seed: u.spec.seed, points }));
    }
    await store.put(resultKey(u), JSON.stringify({ unit: u.id }));
  }
  return { dir, store, plan, histories, random, scan: scan! };
}

/** A corpus CE section as the scan builds it, from seeded per-position CEs of `windows` windows of n tokens. */
function corpusCe(rng: Rng, n: number, windows: number): ScanResult['ce'] {
  const all = new Moments();
  const byLength = Array.from({ length: n - 1 }, () => new Moments());
  const counts = new Array<number>(CE_HISTOGRAM.bins).fill(0);
  for (let w = 0; w < windows; w++) {
    let sum = 0;
    for (let i = 0; i < n - 1; i++) {
      sum += Math.max(0.05, 3.7 + 2 / (i + 1) + 1.1 * rng.normal());
      byLength[i]!.add(sum / (i + 1));
    }
    const ce = sum / (n - 1);
    all.add(ce);
    counts[Math.min(CE_HISTOGRAM.bins - 1, Math.floor(ce / CE_HISTOGRAM.width))]!++;
  }
  return {
    count: all.count,
    mean: all.mean(),
    std: all.std(),
    min: all.min,
    max: all.max,
    moments: all.toJSON(),
    histogram: { width: CE_HISTOGRAM.width, counts },
    byLength: byLength.map((m, i) => ({ tokens: i + 2, count: m.count, mean: m.mean(), std: m.std(), moments: m.toJSON() })),
  };
}

/** One feature per neuron/logit target of the plan, in plan order, from seeded activations of `windows` windows. */
function featuresOf(units: SweepPlan['units'], rng: Rng, n: number): FeatureJson[] {
  const seen = new Set<string>();
  const out: FeatureJson[] = [];
  for (const u of units) {
    if (u.spec.kind !== 'epo' || u.spec.target.kind === 'resid') continue;
    const target = u.spec.target;
    const key = targetKeyJson(target);
    if (seen.has(key)) continue;
    seen.add(key);
    const m = new Moments();
    const hist = new LogHistogram();
    // Mostly zeros and small values, as an MLP neuron or SAE latent over a corpus.
    for (let w = 0; w < 300; w++) {
      const x = rng.float() < 0.4 ? 0 : Math.max(-0.5, rng.normal());
      m.add(x);
      hist.add(x);
    }
    // A logit target's f (its logit minus the largest other) is never positive.
    const shift = target.kind === 'logit' ? -5 : 0;
    const top = Array.from({ length: 6 }, () => {
      const ids = Array.from({ length: n }, () => 1 + rng.int(63));
      const activations = Array.from({ length: n }, () => 2 * rng.float() + shift);
      activations[n - 1] = 2.5 + 2 * rng.float() + shift;
      return {
        ids,
        text: decodeWords(ids),
        activation: activations[n - 1]!,
        ce: 3 + 3 * rng.float(),
        source: { file: 'corpus.jsonl', byteOffset: rng.int(10_000), token: rng.int(40) },
        activations,
      };
    }).sort((a, b) => b.activation - a.activation);
    out.push({
      key,
      kind: kindOf(target.kind).method as FeatureJson['kind'],
      label: targetLabelOf(target),
      count: m.count,
      excluded: 0,
      mean: m.mean(),
      std: m.std(),
      min: m.min,
      max: Math.max(m.max, top[0]!.activation),
      moments: m.toJSON(),
      histogram: hist.toJSON(),
      quantiles: QUANTILES.map((q) => ({ q, value: hist.quantile(q) })),
      top,
    });
  }
  return out;
}
