// The report's data: everything the z-score report shows (paper section 3.5, Figs. 5 and 6, Tables 2, 3, 5),
// computed from a sweep's artifacts by aggregateSweep and drawn by buildReport. Plain JSON-able records:
// no NaN or Infinity anywhere (a number that does not exist is null), arrays in a stable order.
import type { FeatureJson } from '../corpus/result.js';
import type { HistogramJson } from '../stats/histogram.js';
import type { EpoTarget, Method, TargetMethod } from '../sweep/plan.js';

export const REPORT_FORMAT = 'dreamsweep.report';
/** 3: pairs carry their label (how the sweep file named the direction). 4: targets carry their feature study. */
export const REPORT_VERSION = 4;

/** Panels of the figure of all targets' frontiers at most; beyond, each target's section draws its own (Figs. 2a, 3). */
export const FIG_TARGETS_MAX = 24;

/** The residual-stream methods compared: EPO twice, once unrestricted and once limited to CE < threshold. */
export const RESID_METHODS = ['random', 'scan', 'epo', 'epoFluent'] as const;
export type ResidMethod = (typeof RESID_METHODS)[number];

/** One prompt with its numbers; `text` is null when no decoder and no stored text knew its ids. */
export interface PromptRow {
  /** Objective value: the alignment for residual targets, the activation or logit difference otherwise. */
  f: number;
  /** z-score of `f` against the random baseline of its (layer, vector); null for neuron/logit targets. */
  z: number | null;
  /** Null for the random baseline's own best prompt when it was not kept (top 0). */
  ce: number | null;
  perplexity: number | null;
  ids: number[] | null;
  text: string | null;
}

/** A point of a Pareto frontier across seeds (core/epo/frontier.ts), with the seed whose history holds it. */
export interface FrontierRow extends PromptRow {
  lambda: number;
  seed: number | null;
}

/** One (layer, vector) of the residual study. */
export interface PairReport {
  layer: number;
  vector: number;
  /** The direction as the sweep file named it: `L3 v0`, `L3 row 1234 of W_dec in <folder>/<file>` (vectorLabel). */
  label: string;
  /** The random baseline's alignment mean and unbiased std: the z-score reference. Null when missing. */
  random: { mean: number; std: number; prompts: number } | null;
  /** Per-vector max z by method (Fig. 5d; `epoFluent` is EPO with CE < ceThreshold, Fig. 5e). */
  maxZ: Record<ResidMethod, number | null>;
  /** The prompt behind each max z. */
  best: Record<ResidMethod, PromptRow | null>;
  /** EPO runs (seeds) that finished, of those planned. */
  epoSeeds: { finished: number; planned: number };
  /** Per `settings.slack` value s: the lowest CE among EPO prompts with z >= max z - s (Fig. 5b). */
  slackCe: Array<number | null>;
  /** The same at slack 3 (Fig. 5c). */
  ceAtSlack3: number | null;
  /** The EPO Pareto frontier across this pair's seeds (lambda ascending). */
  frontier: FrontierRow[];
}

/** Count, mean, unbiased std, min and max of some per-vector values (null where undefined). */
export interface Summary {
  n: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
}

/** Per layer: the max-z summary of each method (Fig. 6) and of the CE at slack 3. */
export interface LayerReport {
  layer: number;
  vectors: number;
  maxZ: Record<ResidMethod, Summary>;
  ceAtSlack3: Summary;
}

/** The slack curve (Fig. 5b): mean over vectors of the lowest CE within s sigma of the best, per layer and overall. */
export interface SlackCurve {
  slack: number[];
  byLayer: Array<{ layer: number; meanCe: Array<number | null>; vectors: number[] }>;
  all: { meanCe: Array<number | null>; vectors: number[] };
}

/** A density histogram bin: `density` = count / (total * (hi - lo)), so histograms of any size compare. */
export interface DensityBin {
  lo: number;
  hi: number;
  count: number;
  density: number;
}

/** The CE distributions of Fig. 5c (EPO at slack 3 beside the corpus's windows) and Fig. 5a (corpus CE by length). */
export interface CeDistribution {
  /** Equal-width bins. */
  epoAtSlack3: DensityBin[];
  /** The scan's n-token windows: their CE histogram on the same bin grid as `epoAtSlack3`. */
  corpus: {
    seqLen: number;
    windows: number;
    mean: number;
    std: number;
    min: number | null;
    max: number | null;
    bins: DensityBin[];
  } | null;
  /** Fig. 5a: mean and std of the CE of the corpus windows' first m tokens, m = 2..n. */
  byLength: Array<{ tokens: number; windows: number; mean: number; std: number }>;
}

/** A neuron, logit or SAE-latent target (paper Tables 2, 3, 5): its frontier across seeds and its best fluent prompt. */
export interface TargetReport {
  /** `neuron L1.N3`, `logit " model"`, `sae <folder>/<file> #12`. */
  label: string;
  method: TargetMethod;
  target: EpoTarget;
  seeds: { finished: number; planned: number };
  frontier: FrontierRow[];
  /** The highest-f valid prompt of any seed's history with perplexity < settings.perplexityCap (Table 3). */
  bestUnderCap: (PromptRow & { seed: number; onFrontier: boolean }) | null;
  /** The per-feature study (paper Figs. 2, 3) with the scan's view of the feature (core/report/features.ts). */
  feature: FeatureStudy;
}

/** One valid EPO candidate drawn in Fig. 3. */
export interface EvaluatedPoint {
  seed: number;
  /** 0-based iteration of the run's history. */
  iteration: number;
  f: number;
  ce: number;
}

/** A point of a frontier drawn in Fig. 2b (one run's frontier after some iterations). */
export interface GrowthPoint {
  lambda: number;
  f: number;
  ce: number;
}

/** A top dataset window of the scan's feature (FeatureEntryJson), with its tokens as text for shading. */
export interface DatasetWindow {
  rank: number;
  activation: number;
  ce: number;
  ids: number[];
  text: string;
  source: { file: string; byteOffset: number; token: number };
  /** The activation at every token of the window; null when the scan did not store them. */
  activations: number[] | null;
  /** Each token decoded alone; null without a decoder. */
  tokens: string[] | null;
}

/** The scan's view of a feature (FeatureJson of core/corpus/result.ts) as the report shows it. */
export interface FeatureDataset extends Pick<FeatureJson, 'count' | 'excluded' | 'mean' | 'std' | 'min' | 'max' | 'quantiles'> {
  /** The zero bucket (|x| < zeroBelow) and the non-empty log-linear buckets (core/stats/histogram.ts). */
  histogram: Pick<HistogramJson, 'zero' | 'zeroBelow' | 'buckets'>;
  top: DatasetWindow[];
}

/**
 * Did dreaming beat the dataset at comparable CE: the best valid EPO candidate with CE <= the CE of the
 * dataset's top window, against that window's activation.
 */
export interface DreamVsDataset {
  datasetActivation: number;
  datasetCe: number;
  /** Null when no valid EPO candidate is as fluent as the window. */
  epoActivation: number | null;
  epoCe: number | null;
  epoSeed: number | null;
  /** epoActivation > datasetActivation. */
  beat: boolean;
}

/** Per neuron/logit/SAE target: what Figs. 2 and 3 draw, and the dataset side from the scan. */
export interface FeatureStudy {
  /** The target's key JSON (targetKeyJson), as the scan's FeatureJson.key. */
  key: string;
  /** Fig. 3: valid EPO candidates of every finished seed; `total` counted, `points` kept (thinned, FEATURE_GRID). */
  evaluated: { total: number; points: EvaluatedPoint[] };
  /** Fig. 2a: each finished seed's own frontier. */
  seedFrontiers: Array<{ seed: number; points: FrontierRow[] }>;
  /** Fig. 2b: the lowest finished seed's frontier after each of `steps`' iteration counts. */
  growth: { seed: number; iterations: number; steps: Array<{ iterations: number; points: GrowthPoint[] }> } | null;
  /** Null when the sweep has no finished scan, or its scan has no features (sweeps before scan version 3). */
  dataset: FeatureDataset | null;
  comparison: DreamVsDataset | null;
}

/** A unit whose artifacts the report lacks. */
export interface MissingUnit {
  unit: string;
  method: Method;
  key: string;
  /** `not finished` (no result.json), or which artifact is absent. */
  reason: string;
}

export interface ReportData {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  sweepId: string;
  name: string;
  modelId: string;
  /** Store key of the vector set (attribution of residual targets reads it). */
  vectorsKey: string;
  settings: { ceThreshold: number; slack: number[]; perplexityCap: number; seqLen: number; layers: number[] };
  units: { planned: number; finished: number; byMethod: Record<string, { planned: number; finished: number }> };
  missing: MissingUnit[];
  /** Sentences a reader needs (what was approximated or left out), in a fixed order. */
  notes: string[];
  pairs: PairReport[];
  layers: LayerReport[];
  slack: SlackCurve;
  ce: CeDistribution;
  targets: TargetReport[];
}

/** Token attribution of one prompt (paper Fig. 1), computed with an engine by core/report/attribution.ts. */
export interface Attribution {
  /** What the prompt is, e.g. `EPO L4 v3 (CE < 6)` or `neuron L1.N3 (perplexity < 100)`. */
  label: string;
  target: EpoTarget;
  ids: number[];
  text: string;
  /** The objective at the prompt itself. */
  f: number;
  /** Substitute tokens tried per position. */
  k: number;
  positions: AttributionPosition[];
}

export interface AttributionPosition {
  position: number;
  token: number;
  text: string;
  /** f minus the lowest f among the substitutes: how far one swap here can pull the objective down. */
  dropFromWorst: number;
  /** f minus the highest f among the substitutes: large when every swap here hurts. */
  dropFromBest: number;
}
