// The scan's accumulated state and its JSON forms: the result (docs/scan-format.md) and the checkpoint.
// One builder writes both, field by field in a fixed order, so equal states give byte-identical JSON.
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import type { Objective } from '../engine.js';
import { LogHistogram, QUANTILES, type HistogramJson } from '../stats/histogram.js';
import { Moments, type MomentsJson } from '../stats/moments.js';
import type { Shard } from './read.js';
import { SkipLog, type SkipLogJson } from './skips.js';
import { compareCodeUnits } from './source.js';
import { TopK, type TopEntry } from './topk.js';
import type { ScanPosition, WindowSource } from './windows.js';

export const SCAN_RESULT_FORMAT = 'dreamsweep.scan';
export const SCAN_CHECKPOINT_FORMAT = 'dreamsweep.scan-checkpoint';
export const SCAN_VERSION = 3;

/** The windows' CE histogram: fixed bins of `width` nats from 0, the last one open (>= bins * width). */
export const CE_HISTOGRAM = { width: 0.05, bins: 600 } as const;

/** The layer's vectors: each a unit direction of length dModel. */
export interface ScanTarget {
  layer: number;
  vectors: Float32Array[];
}

/**
 * A neuron, logit or SAE target of a scan: its activation, the objective's f, at the last token of every window.
 * The scan computes f from the raw taps of the same forward pass as the residual directions' (each kind's lastToken).
 */
export interface ScanFeature {
  /** The EPO target's key JSON (targetKeyJson): names it in the result and in the scan's config. */
  key: string;
  kind: FeatureJson['kind'];
  label: string;
  objective: Objective;
  /** A logit target's banned text: windows whose text holds it (any case) are left out, as EPO leaves out such prompts. */
  bannedText?: string;
}

/** What fixes a scan's meaning: results merge only when these are equal. */
export interface ScanConfig {
  n: number;
  stride: number;
  k: number;
  textField: string;
  skipBad: boolean;
  /** Per target: layer, number of vectors, sha256 of the vectors' float32 bytes. */
  targets: Array<{ layer: number; vectors: number; sha256: string }>;
  /** The features, in order: their keys (which hold a logit target's banned text), kinds and labels. */
  features: Array<{ key: string; kind: FeatureJson['kind']; label: string }>;
}

export interface TopEntryJson {
  ids: number[];
  text: string;
  alignment: number;
  ce: number;
  source: WindowSource;
}

export interface PairJson {
  layer: number;
  vector: number;
  count: number;
  mean: number | null;
  std: number | null;
  max: number | null;
  top: TopEntryJson[];
  /** Exact sums for merging. */
  moments: MomentsJson;
  /** The alignment's distribution and its QUANTILES, as for features: in scan results (version 3), not in the random baseline's. */
  histogram?: HistogramJson;
  quantiles?: Array<{ q: number; value: number | null }>;
}

/**
 * A target that is not a residual direction (neuron, logit, SAE latent): its activation, the objective's f,
 * at the last token of every window the target counts (docs/scan-format.md, "Features").
 */
export interface FeatureJson {
  /** The EPO target's key JSON (targetKeyJson in core/objectives/kinds): matches the sweep's EPO units. */
  key: string;
  kind: 'neuron' | 'logit' | 'sae';
  /** As the report names it (the kind's label). */
  label: string;
  /** Windows counted; windows left out for this target (a logit target's banned text) are in `excluded`. */
  count: number;
  excluded: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  moments: MomentsJson;
  /** The activation's distribution (core/stats/histogram.ts), exact under merge. */
  histogram: HistogramJson;
  /** QUANTILES of core/stats/histogram.ts, read off the histogram (within a bucket's width). */
  quantiles: Array<{ q: number; value: number | null }>;
  /** The top K windows, best first, under the same total order as pairs' (activation, then position). */
  top: FeatureEntryJson[];
}

export interface FeatureEntryJson {
  ids: number[];
  text: string;
  activation: number;
  ce: number;
  source: WindowSource;
  /** The activation at every token of the window (f of each prefix), for shading; filled when a scan finishes. */
  activations?: number[];
}

export interface ScanResult {
  format: typeof SCAN_RESULT_FORMAT;
  version: typeof SCAN_VERSION;
  config: ScanConfig;
  /** The shards this result covers, sorted, contiguous ranges of one file joined. */
  shards: Shard[];
  /** `end`: every shard was read to its end; `budget`: the token budget ran out; null in a checkpoint. */
  stoppedBy: 'end' | 'budget' | null;
  windows: number;
  /** Tokens of windows evaluated: windows * n (overlapping tokens count again when stride < n). */
  tokens: number;
  /** Documents read (including those too short for a window). */
  documents: number;
  /** Tokens of the documents read. */
  documentTokens: number;
  skipped: SkipLogJson;
  /** Cross-entropy of the n-token windows (mean over positions 1..n-1 of each window). */
  ce: {
    count: number;
    mean: number | null;
    std: number | null;
    min: number | null;
    max: number | null;
    moments: MomentsJson;
    /** Window counts per CE bin (paper Fig. 5c's corpus side): bin i holds [i * width, (i + 1) * width). */
    histogram: { width: number; counts: number[] };
    /** The CE of each window's first m tokens, m = 2..n (paper Fig. 5a: CE against prompt length). */
    byLength: Array<{ tokens: number; count: number; mean: number | null; std: number | null; moments: MomentsJson }>;
  };
  pairs: PairJson[];
  /** Neuron, logit and SAE targets, in the sweep's plan order (the scan's `features` option): the report and `dreamsweep export` read them. */
  features: FeatureJson[];
}

export interface ScanCheckpoint {
  format: typeof SCAN_CHECKPOINT_FORMAT;
  version: typeof SCAN_VERSION;
  /** Shards in scan order (positions index into this list) and the budget: a resume must use the same. */
  shards: Shard[];
  tokenBudget: number | null;
  /** The next window to evaluate. */
  position: ScanPosition;
  /** Everything accumulated so far, in result form (`stoppedBy` null). */
  partial: ScanResult;
}

/** Why: the accumulators of one scan (or of merged scans) in memory. */
export class ScanState {
  windows = 0;
  tokens = 0;
  documents = 0;
  documentTokens = 0;
  readonly skips: SkipLog;
  readonly ce: Moments;
  readonly ceHistogram: number[];
  /** Index m - 2 holds the CE of the windows' first m tokens. */
  readonly ceByLength: Moments[];
  readonly pairs: Array<{ layer: number; vector: number; moments: Moments; histogram: LogHistogram; top: TopK }>;
  readonly features: FeatureState[];

  constructor(
    readonly config: ScanConfig,
    init?: ScanResult,
  ) {
    this.skips = init ? SkipLog.fromJSON(init.skipped) : new SkipLog();
    this.ce = init ? Moments.fromJSON(init.ce.moments) : new Moments();
    this.ceHistogram = init ? [...init.ce.histogram.counts] : new Array<number>(CE_HISTOGRAM.bins).fill(0);
    this.ceByLength = init ? init.ce.byLength.map((l) => Moments.fromJSON(l.moments)) : Array.from({ length: Math.max(0, config.n - 1) }, () => new Moments());
    this.pairs = [];
    for (const t of config.targets) {
      for (let v = 0; v < t.vectors; v++) this.pairs.push({ layer: t.layer, vector: v, moments: new Moments(), histogram: new LogHistogram(), top: new TopK(config.k) });
    }
    this.features = config.features.map((f) => ({ ...f, moments: new Moments(), histogram: new LogHistogram(), top: new TopK(config.k), excluded: 0 }));
    if (init) {
      this.windows = init.windows;
      this.tokens = init.tokens;
      this.documents = init.documents;
      this.documentTokens = init.documentTokens;
      if (init.pairs.length !== this.pairs.length) throw new Error(`ScanState: ${init.pairs.length} pairs in JSON, config has ${this.pairs.length}`);
      init.pairs.forEach((p, i) => {
        const mine = this.pairs[i]!;
        mine.moments.merge(Moments.fromJSON(p.moments));
        if (p.histogram) mine.histogram.merge(LogHistogram.fromJSON(p.histogram));
        for (const e of p.top) mine.top.offer({ ...e, source: { ...e.source } });
      });
      if (init.features.length !== this.features.length) throw new Error(`ScanState: ${init.features.length} features in JSON, config has ${this.features.length}`);
      init.features.forEach((f, i) => {
        const mine = this.features[i]!;
        mine.moments.merge(Moments.fromJSON(f.moments));
        mine.histogram.merge(LogHistogram.fromJSON(f.histogram));
        mine.excluded += f.excluded;
        for (const { activation, ...e } of f.top) mine.top.offer({ ...e, alignment: activation, source: { ...e.source } });
      });
    }
  }

  /** Adds another state's accumulators (same config). */
  merge(other: ScanState): void {
    this.windows += other.windows;
    this.tokens += other.tokens;
    this.documents += other.documents;
    this.documentTokens += other.documentTokens;
    this.skips.merge(other.skips);
    this.ce.merge(other.ce);
    other.ceHistogram.forEach((c, i) => (this.ceHistogram[i]! += c));
    other.ceByLength.forEach((m, i) => this.ceByLength[i]!.merge(m));
    this.pairs.forEach((p, i) => {
      p.moments.merge(other.pairs[i]!.moments);
      p.histogram.merge(other.pairs[i]!.histogram);
      p.top.merge(other.pairs[i]!.top);
    });
    this.features.forEach((f, i) => {
      const o = other.features[i]!;
      f.moments.merge(o.moments);
      f.histogram.merge(o.histogram);
      f.excluded += o.excluded;
      f.top.merge(o.top);
    });
  }

  /** The result JSON object; `decode` fills the text of entries that lack it. */
  toResult(shards: readonly Shard[], stoppedBy: ScanResult['stoppedBy'], decode?: (ids: number[]) => string): ScanResult {
    const texts = new Map<string, string>();
    const textOf = (e: TopEntry): string => {
      if (e.text !== undefined) return e.text;
      if (!decode) throw new Error('ScanState.toResult: an entry has no text and no decoder was given');
      const key = `${e.source.file}\0${e.source.byteOffset}\0${e.source.token}`;
      let t = texts.get(key);
      if (t === undefined) texts.set(key, (t = decode(e.ids)));
      e.text = t;
      return t;
    };
    return {
      format: SCAN_RESULT_FORMAT,
      version: SCAN_VERSION,
      config: this.config,
      shards: canonicalShards(shards),
      stoppedBy,
      windows: this.windows,
      tokens: this.tokens,
      documents: this.documents,
      documentTokens: this.documentTokens,
      skipped: this.skips.toJSON(),
      ce: {
        count: this.ce.count,
        ...summary(this.ce),
        min: this.ce.count ? this.ce.min : null,
        moments: this.ce.toJSON(),
        histogram: { width: CE_HISTOGRAM.width, counts: [...this.ceHistogram] },
        byLength: this.ceByLength.map((m, i) => ({ tokens: i + 2, count: m.count, mean: m.mean(), std: m.std(), moments: m.toJSON() })),
      },
      pairs: this.pairs.map((p) => ({
        layer: p.layer,
        vector: p.vector,
        count: p.moments.count,
        ...summary(p.moments),
        top: p.top.sorted().map((e) => ({
          ids: [...e.ids],
          text: textOf(e),
          alignment: e.alignment,
          ce: e.ce,
          source: { file: e.source.file, byteOffset: e.source.byteOffset, token: e.source.token },
        })),
        moments: p.moments.toJSON(),
        histogram: p.histogram.toJSON(),
        quantiles: quantiles(p.histogram),
      })),
      features: this.features.map((f) => ({
        key: f.key,
        kind: f.kind,
        label: f.label,
        count: f.moments.count,
        excluded: f.excluded,
        ...summary(f.moments),
        min: f.moments.count ? f.moments.min : null,
        moments: f.moments.toJSON(),
        histogram: f.histogram.toJSON(),
        quantiles: quantiles(f.histogram),
        top: f.top.sorted().map((e) => ({
          ids: [...e.ids],
          text: textOf(e),
          activation: e.alignment,
          ce: e.ce,
          source: { file: e.source.file, byteOffset: e.source.byteOffset, token: e.source.token },
          ...(e.activations && { activations: [...e.activations] }),
        })),
      })),
    };
  }
}

/** One feature's accumulators; its top entries' `alignment` is the activation (one ranking rule for pairs and features). */
export interface FeatureState {
  key: string;
  kind: FeatureJson['kind'];
  label: string;
  moments: Moments;
  histogram: LogHistogram;
  top: TopK;
  excluded: number;
}

function quantiles(h: LogHistogram): Array<{ q: number; value: number | null }> {
  return QUANTILES.map((q) => ({ q, value: h.quantile(q) }));
}

function summary(m: Moments): { mean: number | null; std: number | null; max: number | null } {
  return { mean: m.mean(), std: m.std(), max: m.count ? m.max : null };
}

/** Why: a scan's identity for resume and merge checks; vectors are hashed, not stored. */
export function scanConfig(
  options: { n: number; stride: number; k: number; textField: string; skipBad: boolean },
  targets: readonly ScanTarget[],
  features: readonly ScanFeature[] = [],
): ScanConfig {
  return {
    n: options.n,
    stride: options.stride,
    k: options.k,
    textField: options.textField,
    skipBad: options.skipBad,
    targets: targetDigests(targets),
    features: features.map((f) => ({ key: f.key, kind: f.kind, label: f.label })),
  };
}

/** Why: names a vector set without storing it (scans and the random baseline): layer, count, sha256 of the float32 bytes. */
export function targetDigests(targets: readonly ScanTarget[]): ScanConfig['targets'] {
  return targets.map((t) => {
    const h = createHash('sha256');
    for (const v of t.vectors) h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    return { layer: t.layer, vectors: t.vectors.length, sha256: h.digest('hex') };
  });
}

/** A shard in canonical form: `start` omitted when 0, `end` omitted when open. */
export function canonicalShard(s: Shard): Shard {
  return { uri: s.uri, ...(s.start ? { start: s.start } : {}), ...(s.end !== undefined ? { end: s.end } : {}) };
}

/**
 * Sorted by (uri, start); contiguous ranges of one file joined, so [0, x) + [x, end) reads as the whole
 * file. Overlapping ranges are an error: merging them would count windows twice.
 */
export function canonicalShards(shards: readonly Shard[]): Shard[] {
  const sorted = shards.map(canonicalShard).sort((a, b) => compareCodeUnits(a.uri, b.uri) || (a.start ?? 0) - (b.start ?? 0));
  const out: Shard[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last.uri === s.uri) {
      const lastEnd = last.end ?? Infinity;
      const start = s.start ?? 0;
      if (start < lastEnd) {
        throw new UserError(
          'E_SCAN_MERGE_OVERLAP',
          `${s.uri}: byte ranges [${last.start ?? 0}, ${last.end ?? 'end'}) and [${start}, ${s.end ?? 'end'}) overlap; each part of a file may be scanned once`,
        );
      }
      if (start === lastEnd) {
        out[out.length - 1] = canonicalShard({ uri: s.uri, start: last.start ?? 0, ...(s.end !== undefined ? { end: s.end } : {}) });
        continue;
      }
    }
    out.push(s);
  }
  return out;
}
