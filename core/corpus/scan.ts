// The dataset scan (paper section 5, method 2): every n-token window of a corpus, one forward pass per batch
// for all (layer, vector) pairs at once; keeps the top K windows per pair, exact running statistics of the
// alignment and the windows' cross-entropy; stops at a token budget; checkpoints and resumes; results of
// shards merge into exactly the result of one scan over all of them.
import { resolve } from 'node:path';
import type { AlignVectors, Engine, TapOptions, TapValues, Tokenizer } from '../engine.js';
import { validityMask } from '../epo/validity.js';
import { UserError } from '../errors.js';
import { lastTokenTaps, lastTokenValues } from '../objectives/kinds/index.js';
import { tokenActivations } from '../objectives/token-activations.js';
import { accumulatePairs } from '../stats/pairs.js';
import { DEFAULT_TEXT_FIELD, type Shard } from './read.js';
import {
  canonicalShard,
  canonicalShards,
  CE_HISTOGRAM,
  SCAN_CHECKPOINT_FORMAT,
  SCAN_RESULT_FORMAT,
  SCAN_VERSION,
  scanConfig,
  ScanState,
  type ScanCheckpoint,
  type ScanFeature,
  type ScanResult,
  type ScanTarget,
} from './result.js';
import { isRemote, type CorpusStore } from './source.js';
import { SkipLog, type SkipRecord } from './skips.js';
import type { TopEntry } from './topk.js';
import { checkWindowOptions, corpusWindows, type ScanPosition, type TokenWindow } from './windows.js';

/** A batch read from the corpus, with what reading it did to the counts (applied when its results are). */
interface Collected {
  windows: TokenWindow[];
  /** The budget or the corpus's end was reached while reading it: the last batch. */
  stopped?: 'end' | 'budget';
  documents: number;
  documentTokens: number;
  skips: SkipLog;
  /** Reading failed: thrown in the batch's turn (after the batches before it), as it would be without read-ahead. */
  error?: unknown;
}

/** The skip log the reader sees: records go to the batch being read (scanCorpus swaps `into` per batch). */
class BatchSkips extends SkipLog {
  into = new SkipLog();
  override record(r: SkipRecord): void {
    this.into.record(r);
  }
}

/**
 * A batch of windows [B][n] -> the windows' CE, per position too, and per tap either the alignments with
 * `options.align` (computed by the engine) or the raw values at the last token; `engine.taps` fits.
 */
export type ScanEvaluator = (ids: number[][], names: string[], options: TapOptions & { cePositions: true }) => Promise<TapValues>;

export type ScanEvent =
  | { type: 'batch'; windows: number; tokens: number; documents: number; skipped: number; position: ScanPosition; shards: number }
  | { type: 'checkpoint'; windows: number; tokens: number; position: ScanPosition }
  | { type: 'done'; windows: number; tokens: number; stoppedBy: 'end' | 'budget' };

export interface ScanOptions {
  /** Files or byte ranges in scan order (resolveShards gives a sorted list). Local paths are made absolute. */
  shards: ReadonlyArray<Shard | string>;
  tokenizer: Pick<Tokenizer, 'encode' | 'decode'>;
  evaluate: ScanEvaluator;
  /** Layers and their unit vectors; empty for a CE-only scan. */
  targets: readonly ScanTarget[];
  /** Neuron, logit and SAE targets, read from the same forward pass (their taps are asked for beside resid_pre). */
  features?: readonly ScanFeature[];
  /**
   * The engine (as `evaluate` sees it: the BOS rule applied) that fills each feature's top windows' `activations`
   * when the scan finishes (tokenActivations); needed when there are features.
   */
  engine?: Pick<Engine, 'evaluate'>;
  /** Tokens per window (the paper: 12). */
  n: number;
  /** Default n. */
  stride?: number;
  /** Windows kept per (layer, vector). Default 64. */
  k?: number;
  /** Windows per forward pass. Default 64. */
  batchSize?: number;
  /** Stop before the windows' tokens (windows * n) would exceed this. Default: no limit. */
  tokenBudget?: number;
  textField?: string;
  skipBad?: boolean;
  store?: CorpusStore;
  /** Continue from this checkpoint (same shards, budget and config). */
  resume?: ScanCheckpoint;
  /** Call onCheckpoint every this many batches. Default 0 (never). */
  checkpointEvery?: number;
  onCheckpoint?: (checkpoint: ScanCheckpoint) => Promise<void> | void;
  onEvent?: (event: ScanEvent) => void;
  /** Checked between batches. */
  signal?: AbortSignal;
  /** A scan that evaluates no window returns an empty result instead of E_CORPUS_EMPTY (for byte-range shards). */
  allowEmpty?: boolean;
}

export const SCAN_DEFAULTS = { k: 64, batchSize: 64 } as const;

/** Why: the one entry point the scan activity and the CLI call. */
export async function scanCorpus(options: ScanOptions): Promise<ScanResult> {
  const n = options.n;
  const stride = options.stride ?? n;
  const k = options.k ?? SCAN_DEFAULTS.k;
  const batchSize = options.batchSize ?? SCAN_DEFAULTS.batchSize;
  checkWindowOptions(n, stride);
  checkPositiveInt('k', k, 0);
  checkPositiveInt('batchSize', batchSize, 1);
  if (options.tokenBudget !== undefined) checkPositiveInt('tokenBudget', options.tokenBudget, n); // at least one window
  const targets = checkTargets(options.targets);
  const features = checkFeatures(options.features ?? []);
  if (features.length > 0 && !options.engine) throw new Error("scanCorpus: features need `engine` to fill their top windows' activations");
  const shards = options.shards.map(normaliseShard);
  canonicalShards(shards); // rejects overlapping ranges up front
  const config = scanConfig({ n, stride, k, textField: options.textField ?? DEFAULT_TEXT_FIELD, skipBad: options.skipBad ?? false }, targets, features);
  const tokenBudget = options.tokenBudget ?? null;
  const resume = options.resume;
  if (resume) checkResume(resume, shards, tokenBudget, config);
  const state = new ScanState(config, resume?.partial);
  let position: ScanPosition = resume?.position ?? { shard: 0, byteOffset: shards[0]?.start ?? 0, window: 0 };

  // The next batch is read, and sent to the evaluator, while the current one's results are awaited and added up:
  // two requests in flight, so an engine in another process (torch) never waits on the pipe or on this side.
  // What reading a batch counts (documents, skips) is kept with it and applied with its results, so a checkpoint
  // holds exactly the batches before its position.
  const skips = new BatchSkips();
  let reading: Collected = { windows: [], documents: 0, documentTokens: 0, skips: skips.into };
  const windows = corpusWindows(shards, options.tokenizer, {
    n,
    stride,
    textField: config.textField,
    skipBad: config.skipBad,
    skips,
    ...(options.store ? { store: options.store } : {}),
    ...(resume ? { from: resume.position } : {}),
    onDocument: (tokens) => {
      reading.documents++;
      reading.documentTokens += tokens;
    },
  });
  const featureTaps = new Set(features.flatMap((f) => lastTokenTaps(f.objective)));
  const names = [...new Set([...targets.map((t) => `resid_pre.${t.layer}`), ...featureTaps])];
  // A tap a feature reads comes back raw: the scan aligns it itself (an engine may leave out the values it aligned).
  const align = Object.fromEntries(Object.entries(alignOption(targets)).filter(([name]) => !featureTaps.has(name)));
  const valid = validity(features, options.tokenizer);
  const checkpoint = (): ScanCheckpoint => ({
    format: SCAN_CHECKPOINT_FORMAT,
    version: SCAN_VERSION,
    shards: shards.map(canonicalShard),
    tokenBudget,
    position,
    partial: state.toResult(shards, null, (ids) => options.tokenizer.decode(ids)),
  });

  let stoppedBy: 'end' | 'budget' | undefined;
  let batches = 0;
  let collected = state.windows;
  /** 1. Collect a batch, stopping at the budget or the corpus's end. */
  const collect = async (): Promise<Collected> => {
    skips.into = new SkipLog();
    reading = { windows: [], documents: 0, documentTokens: 0, skips: skips.into };
    const batch = reading;
    try {
      while (batch.windows.length < batchSize) {
        if (tokenBudget !== null && (collected + batch.windows.length + 1) * n > tokenBudget) {
          batch.stopped = 'budget';
          break;
        }
        const next = await windows.next();
        if (next.done) {
          batch.stopped = 'end';
          break;
        }
        batch.windows.push(next.value);
      }
    } catch (e) {
      batch.error = e;
    }
    collected += batch.windows.length;
    return batch;
  };
  // 2. One forward pass per batch.
  const send = (batch: Collected): Promise<TapValues> | undefined => {
    if (batch.windows.length === 0) return undefined;
    const p = options.evaluate(
      batch.windows.map((w) => w.ids),
      names,
      { cePositions: true, align },
    );
    p.catch(() => {}); // awaited in its turn; not an unhandled rejection meanwhile
    return p;
  };
  try {
    options.signal?.throwIfAborted();
    let current = await collect();
    let pending = current.error === undefined ? send(current) : undefined;
    // (pending is set whenever `current` has windows and no error: the only batches the loop evaluates.)
    for (;;) {
      // A batch whose reading failed is not evaluated: the error comes in its turn, after the batches before it.
      if (current.error !== undefined) throw current.error;
      if (current.windows.length === 0) {
        // The corpus's tail gave no window; the documents and skips read there still count.
        state.documents += current.documents;
        state.documentTokens += current.documentTokens;
        state.skips.merge(current.skips);
        stoppedBy = current.stopped;
        break;
      }
      options.signal?.throwIfAborted();
      const readAhead = current.stopped === undefined;
      const next: Collected = readAhead ? await collect() : { windows: [], documents: 0, documentTokens: 0, skips: new SkipLog() };
      const nextPending = readAhead && next.error === undefined ? send(next) : undefined;
      // 3. Alignments, statistics and top-K for every pair.
      const batch = current.windows;
      const taps = await pending!;
      state.documents += current.documents;
      state.documentTokens += current.documentTokens;
      state.skips.merge(current.skips);
      accumulate(state, targets, align, batch, taps);
      accumulateFeatures(state, features, valid, batch, taps);
      state.windows += batch.length;
      state.tokens += batch.length * n;
      position = batch[batch.length - 1]!.next;
      batches++;
      options.onEvent?.({
        type: 'batch',
        windows: state.windows,
        tokens: state.tokens,
        documents: state.documents,
        skipped: state.skips.count,
        position,
        shards: shards.length,
      });
      // 4. Checkpoint.
      if (!current.stopped && options.checkpointEvery && options.onCheckpoint && batches % options.checkpointEvery === 0) {
        await options.onCheckpoint(checkpoint());
        options.onEvent?.({ type: 'checkpoint', windows: state.windows, tokens: state.tokens, position });
      }
      if (current.stopped) {
        stoppedBy = current.stopped;
        break;
      }
      current = next;
      pending = nextPending;
    }
  } finally {
    await windows.return(undefined);
  }

  if (state.windows === 0 && !options.allowEmpty) throw emptyCorpus(state, n, shards.length);
  // Only the final result has them (never a checkpoint): a resumed scan fills the same windows the same way.
  for (const [i, f] of features.entries()) await fillActivations(state.features[i]!.top.sorted(), f, options.engine!);
  options.onEvent?.({ type: 'done', windows: state.windows, tokens: state.tokens, stoppedBy: stoppedBy ?? 'end' });
  return state.toResult(shards, stoppedBy ?? 'end', (ids) => options.tokenizer.decode(ids));
}

/**
 * Why: combines shard results into exactly what one scan over all the shards gives (every shard read to its
 * end): counts add, exact sums add, top-K lists merge under the same total order, shards are listed sorted.
 */
export function mergeScanResults(results: readonly ScanResult[]): ScanResult {
  if (results.length === 0) throw new UserError('E_SCAN_MERGE_MISMATCH', 'merge: no scan results given');
  for (const r of results) {
    if (r.format !== SCAN_RESULT_FORMAT || r.version !== SCAN_VERSION) {
      throw new UserError('E_SCAN_MERGE_MISMATCH', `merge: expected ${SCAN_RESULT_FORMAT} version ${SCAN_VERSION}, got ${r.format} version ${r.version}`);
    }
  }
  const config = results[0]!.config;
  const key = JSON.stringify(config);
  const state = new ScanState(config);
  for (const [i, r] of results.entries()) {
    if (JSON.stringify(r.config) !== key) {
      throw new UserError(
        'E_SCAN_MERGE_MISMATCH',
        `merge: result ${i} was scanned with ${JSON.stringify(r.config)}, result 0 with ${key}; only scans with equal n, stride, k, text field, skipBad, vectors and features merge`,
      );
    }
    state.merge(new ScanState(config, r));
  }
  const stoppedBy = results.some((r) => r.stoppedBy === 'budget') ? 'budget' : 'end';
  return state.toResult(
    results.flatMap((r) => r.shards),
    stoppedBy,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

/** Adds a batch's CE, alignments and top-K candidates to the scan state (pairs in target order). */
function accumulate(state: ScanState, targets: readonly ScanTarget[], align: Record<string, AlignVectors>, batch: TokenWindow[], taps: TapValues): void {
  const B = batch.length;
  if (taps.ce.length !== B) throw new Error(`scan: the evaluator returned ${taps.ce.length} CE values for ${B} windows`);
  const n = state.config.n;
  const positions = taps.cePositions;
  // n - 1 predicted positions per window, or n behind a BOS, which predicts the first token too (core/model/bos.ts).
  const per = positions ? positions.length / B : NaN;
  if (!positions || (per !== n - 1 && per !== n)) {
    throw new Error(`scan: the evaluator returned ${positions?.length ?? 'no'} per-position CE values for ${B} windows of ${n} tokens`);
  }
  const bos = per - (n - 1);
  for (let b = 0; b < B; b++) {
    const ce = taps.ce[b]!;
    if (!Number.isFinite(ce)) throw new Error(`scan: the evaluator returned CE ${ce} for window ${JSON.stringify(batch[b]!.source)}`);
    state.ce.add(ce);
    state.ceHistogram[Math.min(CE_HISTOGRAM.bins - 1, Math.max(0, Math.floor(ce / CE_HISTOGRAM.width)))]!++;
    // Prefix CE of the first m tokens (m = 2..n): the mean of the positions that predict them (the model is causal).
    let sum = 0;
    for (let i = 0; i < per; i++) {
      sum += positions[b * per + i]!;
      if (i + 1 - bos >= 1) state.ceByLength[i - bos]!.add(sum / (i + 1));
    }
  }
  const rows = targetAlignments(taps, targets, align, B, (b) => `window ${JSON.stringify(batch[b]!.source)}`);
  accumulatePairs(state.pairs, targets, rows, B, (b, alignment) => ({ ids: batch[b]!.ids, alignment, ce: taps.ce[b]!, source: batch[b]!.source }));
}

/** Per feature, whether a window counts for it: a logit target's banned text by EPO's rule (validityMask), each window decoded once. */
function validity(features: readonly ScanFeature[], tokenizer: Pick<Tokenizer, 'encode' | 'decode'>): Array<(ids: number[]) => boolean> {
  const texts = new WeakMap<number[], string>();
  const decode = (ids: number[]) => {
    let t = texts.get(ids);
    if (t === undefined) texts.set(ids, (t = tokenizer.decode(ids)));
    return t;
  };
  const memo = { encode: (t: string) => tokenizer.encode(t), decode } as Tokenizer;
  return features.map((f) => validityMask(memo, f.bannedText === undefined ? {} : { bannedText: f.bannedText }));
}

/** Adds a batch's feature activations (f at the last token, from the raw taps) to each feature's statistics and top-K. */
function accumulateFeatures(state: ScanState, features: readonly ScanFeature[], valid: ReadonlyArray<(ids: number[]) => boolean>, batch: TokenWindow[], taps: TapValues): void {
  if (features.length === 0) return;
  const B = batch.length;
  const values = lastTokenValues(
    features.map((f) => f.objective),
    taps,
    B,
  );
  features.forEach((f, i) => {
    const acc = state.features[i]!;
    const v = values[i]!;
    for (let b = 0; b < B; b++) {
      const w = batch[b]!;
      if (!valid[i]!(w.ids)) {
        acc.excluded++;
        continue;
      }
      const a = v[b]!;
      if (!Number.isFinite(a)) throw new Error(`scan: ${f.label} is ${a} at window ${JSON.stringify(w.source)}`);
      acc.moments.add(a);
      acc.histogram.add(a);
      if (acc.top.mightAccept(a)) acc.top.offer({ ids: w.ids, alignment: a, ce: taps.ce[b]!, source: w.source });
    }
  });
}

/** The activation at every token of each top window that lacks it (f of each prefix, tokenActivations). */
async function fillActivations(entries: TopEntry[], feature: ScanFeature, engine: Pick<Engine, 'evaluate'>): Promise<void> {
  const todo = entries.filter((e) => e.activations === undefined);
  if (todo.length === 0) return;
  const rows = await tokenActivations(
    engine,
    todo.map((e) => e.ids),
    feature.objective,
  );
  todo.forEach((e, i) => (e.activations = rows[i]!));
}

/**
 * Why: the engine may compute the alignments where the residuals are (the torch engine, on the device) and send
 * [B, vectors] instead of [B, dModel]. The `align` option for `engine.taps`: per tap, the vectors of every target
 * at that layer, targets in order, as one [count, dModel] matrix. Built once per scan (engines cache it by identity).
 */
export function alignOption(targets: readonly ScanTarget[]): Record<string, AlignVectors> {
  const byTap = new Map<string, Float32Array[]>();
  for (const t of targets) {
    const name = `resid_pre.${t.layer}`;
    byTap.set(name, [...(byTap.get(name) ?? []), ...t.vectors]);
  }
  const align: Record<string, AlignVectors> = {};
  for (const [name, vectors] of byTap) {
    const d = vectors[0]?.length ?? 0;
    const flat = new Float32Array(vectors.length * d);
    vectors.forEach((v, j) => flat.set(v, j * d));
    align[name] = { vectors: flat, count: vectors.length };
  }
  return align;
}

/**
 * Each target's alignments [B, vectors]: the engine's `alignments` for the `align` option when it returned
 * them (its columns for the target), else `alignmentRows` on the raw values.
 */
export function targetAlignments(taps: TapValues, targets: readonly ScanTarget[], align: Record<string, AlignVectors>, B: number, where: (b: number) => string): Float64Array[] {
  const column = new Map<string, number>();
  return targets.map((t) => {
    const name = `resid_pre.${t.layer}`;
    const all = taps.alignments?.[name];
    if (!all) return alignmentRows(taps, t, B, where);
    const total = align[name]!.count;
    if (all.length !== B * total) throw new Error(`scan: the evaluator returned ${all.length} "${name}" alignments, expected ${B} x ${total}`);
    const J = t.vectors.length;
    const first = column.get(name) ?? 0;
    column.set(name, first + J);
    const out = new Float64Array(B * J);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < J; j++) {
        const a = all[b * total + first + j]!;
        // A constant residual standardises to 0/0: the same failure alignmentRows reports.
        if (!Number.isFinite(a)) throw new Error(`scan: ${name} at ${where(b)} has alignment ${a}; the residual must vary`);
        out[b * J + j] = a;
      }
    }
    return out;
  });
}

/**
 * Why: the one standardise-and-dot rule, shared by the scan and the random-prompt baseline. Alignment
 * a = ((x - mean(x)) / std(x)) . v for each row x (the residual at the last token, tap `resid_pre.<layer>`)
 * and each vector v of the target, std unbiased (n - 1) as in the reference; computed as
 * (x.v - mean(x) sum(v)) / std(x) in float64. Returns [B, vectors] row-major; `where(b)` names row b in errors.
 */
export function alignmentRows(taps: TapValues, target: ScanTarget, B: number, where: (b: number) => string): Float64Array {
  const name = `resid_pre.${target.layer}`;
  const values = taps.values[name];
  const d = taps.dims[name];
  if (!values || d === undefined) throw new Error(`scan: the evaluator returned no "${name}" tap`);
  if (values.length !== B * d) throw new Error(`scan: "${name}" has ${values.length} values, expected ${B} x ${d}`);
  const vectors = target.vectors;
  if (vectors[0] && vectors[0].length !== d) {
    throw new UserError('E_SCAN_OPTIONS', `layer ${target.layer}: vectors have length ${vectors[0].length}, but the model's ${name} has ${d}`);
  }
  const J = vectors.length;
  const sumV = vectors.map((v) => v.reduce((s, x) => s + x, 0));
  const dotBuf = new Float64Array(J);
  const out = new Float64Array(B * J);
  for (let b = 0; b < B; b++) {
    const row = values.subarray(b * d, (b + 1) * d); // [dModel]
    let s = 0;
    for (let i = 0; i < d; i++) s += row[i]!;
    const mean = s / d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += (row[i]! - mean) ** 2;
    const std = Math.sqrt(ss / (d - 1));
    if (!(std > 0) || !Number.isFinite(std)) {
      throw new Error(`scan: ${name} at ${where(b)} has std ${std}; the residual must vary`);
    }
    const dots = dotAll(row, vectors, dotBuf);
    for (let j = 0; j < J; j++) out[b * J + j] = (dots[j]! - mean * sumV[j]!) / std;
  }
  return out;
}

/**
 * row . v for every vector, in float64, four vectors per pass over the row (the hot loop of a scan: B x
 * vectors x dModel multiply-adds per layer). Each dot sums i = 0..d-1 in order, so it does not depend on
 * how vectors are grouped.
 */
function dotAll(row: Float32Array, vectors: readonly Float32Array[], out: Float64Array): Float64Array {
  const d = row.length;
  let j = 0;
  for (; j + 4 <= vectors.length; j += 4) {
    const v0 = vectors[j]!;
    const v1 = vectors[j + 1]!;
    const v2 = vectors[j + 2]!;
    const v3 = vectors[j + 3]!;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let i = 0; i < d; i++) {
      const x = row[i]!;
      a0 += x * v0[i]!;
      a1 += x * v1[i]!;
      a2 += x * v2[i]!;
      a3 += x * v3[i]!;
    }
    out[j] = a0;
    out[j + 1] = a1;
    out[j + 2] = a2;
    out[j + 3] = a3;
  }
  for (; j < vectors.length; j++) {
    const v = vectors[j]!;
    let a = 0;
    for (let i = 0; i < d; i++) a += row[i]! * v[i]!;
    out[j] = a;
  }
  return out;
}

function normaliseShard(s: Shard | string): Shard {
  const shard = typeof s === 'string' ? { uri: s } : s;
  const uri = isRemote(shard.uri) ? shard.uri : resolve(shard.uri);
  for (const key of ['start', 'end'] as const) {
    const v = shard[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
      throw new UserError('E_SCAN_OPTIONS', `shard ${shard.uri}: ${key}: expected a non-negative integer byte offset, got ${v}`);
    }
  }
  if (shard.end !== undefined && shard.end < (shard.start ?? 0)) {
    throw new UserError('E_SCAN_OPTIONS', `shard ${shard.uri}: end ${shard.end} is before start ${shard.start ?? 0}`);
  }
  return canonicalShard({ ...shard, uri });
}

function checkPositiveInt(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new UserError('E_SCAN_OPTIONS', `${name}: expected an integer >= ${min}, got ${v}`);
}

function checkTargets(targets: readonly ScanTarget[]): readonly ScanTarget[] {
  for (const t of targets) {
    if (!Number.isInteger(t.layer) || t.layer < 0) throw new UserError('E_SCAN_OPTIONS', `target layer: expected an integer >= 0, got ${t.layer}`);
    const d = t.vectors[0]?.length;
    for (const [j, v] of t.vectors.entries()) {
      if (v.length !== d || d < 2) {
        throw new UserError('E_SCAN_OPTIONS', `layer ${t.layer} vector ${j}: expected length ${d} like vector 0 (at least 2), got ${v.length}`);
      }
    }
  }
  return targets;
}

function checkFeatures(features: readonly ScanFeature[]): readonly ScanFeature[] {
  const seen = new Set<string>();
  for (const f of features) {
    if (seen.has(f.key)) throw new UserError('E_SCAN_OPTIONS', `feature ${f.label} is named twice; give each target once`);
    seen.add(f.key);
    lastTokenTaps(f.objective); // a residual direction is not a feature
  }
  return features;
}

function checkResume(resume: ScanCheckpoint, shards: Shard[], tokenBudget: number | null, config: ScanResult['config']): void {
  const problem =
    resume.format !== SCAN_CHECKPOINT_FORMAT || resume.version !== SCAN_VERSION
      ? `expected ${SCAN_CHECKPOINT_FORMAT} version ${SCAN_VERSION}, got ${resume.format} version ${resume.version}`
      : JSON.stringify(resume.shards) !== JSON.stringify(shards.map(canonicalShard))
        ? "its shards differ from this scan's"
        : resume.tokenBudget !== tokenBudget
          ? `its token budget ${resume.tokenBudget} differs from ${tokenBudget}`
          : JSON.stringify(resume.partial.config) !== JSON.stringify(config)
            ? `it was scanned with ${JSON.stringify(resume.partial.config)}, this scan uses ${JSON.stringify(config)}`
            : undefined;
  if (problem) throw new UserError('E_SCAN_RESUME_MISMATCH', `resume: the checkpoint does not belong to this scan: ${problem}; start afresh or pass the same options`);
}

function emptyCorpus(state: ScanState, n: number, shards: number): UserError {
  const skipped = state.skips.count ? ` (${state.skips.count} bad lines or files skipped)` : '';
  return new UserError(
    'E_CORPUS_EMPTY',
    state.documents === 0
      ? `corpus: ${shards} file(s) hold no documents${skipped}; check the paths and the text field`
      : `corpus: ${state.documents} document(s)${skipped}, none with at least n = ${n} tokens; use a shorter n or a larger corpus`,
  );
}
