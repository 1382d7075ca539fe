// The random-prompt baseline (paper section 5, method 1): P prompts of n tokens drawn uniformly from the
// tokenizer's regular vocabulary (special tokens excluded), seeded; for every (layer, vector) pair at once the
// exact mean, unbiased std and max of the alignment, and the best prompts. Its mean and std define every
// z-score in the report. Standardise-and-dot and top-K are the scan's own (core/corpus), and so is the per-pair
// accumulation (core/stats/pairs.ts).
import type { Engine } from '../engine.js';
import { UserError } from '../errors.js';
import { regularVocabulary } from '../model/vocabulary.js';
import { targetDigests, type PairJson, type ScanConfig, type ScanTarget } from '../corpus/result.js';
import { alignOption, targetAlignments } from '../corpus/scan.js';
import { TopK } from '../corpus/topk.js';
import { Rng } from '../rng.js';
import { Moments } from '../stats/moments.js';
import { accumulatePairs } from '../stats/pairs.js';

export const RANDOM_BASELINE_FORMAT = 'dreamsweep.random';
export const RANDOM_BASELINE_VERSION = 1;

/** The paper's settings; the CLI and sweep files default to these. */
export const RANDOM_DEFAULTS = { prompts: 1024, seqLen: 12, seed: 0, batchSize: 64, top: 16 } as const;

/**
 * The synthetic "file" a random prompt comes from in `top[].source`: prompt i is the window starting at
 * token i * seqLen of the stream of all prompts drawn in order (byteOffset 0), which makes the top-K tie
 * order "earlier prompt first".
 */
export const RANDOM_SOURCE_FILE = 'random';

export interface RandomBaselineOptions {
  engine: Engine;
  /** Layers and their vectors; every layer is read from one forward pass per batch. */
  targets: ScanTarget[];
  /** Number of prompts P (the paper: 1024); at least 2 so that the std exists. */
  prompts: number;
  /** Tokens per prompt n (the paper: 12). */
  seqLen: number;
  seed: number;
  /** Prompts per engine call; the result does not depend on it. */
  batchSize: number;
  /** Prompts kept per pair, best first. */
  top: number;
  onProgress?: (p: { prompts: number; of: number }) => void;
  /** Checked between batches; an aborted signal throws its reason. */
  signal?: AbortSignal;
}

export interface RandomBaselineResult {
  format: typeof RANDOM_BASELINE_FORMAT;
  version: typeof RANDOM_BASELINE_VERSION;
  prompts: number;
  seqLen: number;
  seed: number;
  /** Size of the vocabulary the tokens were drawn from (the tokenizer's, less its special tokens). */
  vocabulary: number;
  /** The vector set by digest (as in a scan's config), so a report can check it pairs the right results. */
  targets: ScanConfig['targets'];
  /** One per (layer, vector), in target order then vector order: the same PairJson as scans. */
  pairs: PairJson[];
}

/** Why: the z-score reference of the study; the random-baseline activity and `dreamsweep baseline random` call it. */
export async function randomBaseline(o: RandomBaselineOptions): Promise<RandomBaselineResult> {
  const { engine, targets, prompts: P, seqLen: n, seed, batchSize, top } = o;
  checkInt('prompts', P, 2);
  checkInt('seqLen', n, 2);
  checkInt('batchSize', batchSize, 1);
  checkInt('top', top, 0);
  if (!Number.isSafeInteger(seed)) throw new UserError('E_BASELINE_OPTIONS', `random baseline: seed: expected an integer, got ${seed}`);
  checkTargets(targets, engine);
  const vocab = regularVocabulary(engine);
  if (vocab.length === 0) throw new UserError('E_BASELINE_OPTIONS', 'random baseline: the tokenizer has no regular (non-special) tokens to draw from');

  // 1. Accumulators: one Moments and one TopK per pair, pairs in target order.
  const pairs = targets.flatMap((t) => t.vectors.map((_, vector) => ({ layer: t.layer, vector, moments: new Moments(), top: new TopK(top) })));
  const names = [...new Set(targets.map((t) => `resid_pre.${t.layer}`))];
  const align = alignOption(targets);
  const rng = Rng.seeded(seed);
  const texts = new Map<number, string>();

  for (let start = 0; start < P; start += batchSize) {
    o.signal?.throwIfAborted();
    // 2. Draw the batch's prompts: prompt by prompt, token by token, from one generator.
    const B = Math.min(batchSize, P - start);
    const ids = Array.from({ length: B }, () => Array.from({ length: n }, () => vocab[rng.int(vocab.length)]!));
    // 3. One forward pass for every layer; 4. alignments, statistics and top-K for every pair.
    const taps = await engine.taps(ids, names, { align });
    const rows = targetAlignments(taps, targets, align, B, (b) => `random prompt ${start + b}`);
    accumulatePairs(pairs, targets, rows, B, (b, alignment) => ({
      ids: ids[b]!,
      alignment,
      ce: taps.ce[b]!,
      source: { file: RANDOM_SOURCE_FILE, byteOffset: 0, token: (start + b) * n },
    }));
    o.onProgress?.({ prompts: start + B, of: P });
  }

  const decode = (ids: number[], token: number): string => {
    let text = texts.get(token);
    if (text === undefined) texts.set(token, (text = engine.tokenizer.decode(ids)));
    return text;
  };
  return {
    format: RANDOM_BASELINE_FORMAT,
    version: RANDOM_BASELINE_VERSION,
    prompts: P,
    seqLen: n,
    seed,
    vocabulary: vocab.length,
    targets: targetDigests(targets),
    pairs: pairs.map((p) => ({
      layer: p.layer,
      vector: p.vector,
      count: p.moments.count,
      mean: p.moments.mean(),
      std: p.moments.std(),
      max: p.moments.count ? p.moments.max : null,
      top: p.top.sorted().map((e) => ({
        ids: [...e.ids],
        text: decode(e.ids, e.source.token),
        alignment: e.alignment,
        ce: e.ce,
        source: { ...e.source },
      })),
      moments: p.moments.toJSON(),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new UserError('E_BASELINE_OPTIONS', `random baseline: ${name}: expected an integer >= ${min}, got ${v}`);
}

function checkTargets(targets: readonly ScanTarget[], engine: Engine): void {
  const { nLayers, dModel } = engine.shape;
  if (targets.length === 0) throw new UserError('E_BASELINE_OPTIONS', 'random baseline: no targets; give at least one layer with vectors');
  const seen = new Set<number>();
  for (const t of targets) {
    if (!Number.isInteger(t.layer) || t.layer < 0 || t.layer > nLayers) {
      throw new UserError('E_BASELINE_OPTIONS', `random baseline: layer ${t.layer} is out of range [0, ${nLayers}] for this ${nLayers}-layer model`);
    }
    if (seen.has(t.layer)) throw new UserError('E_BASELINE_OPTIONS', `random baseline: layer ${t.layer} appears twice in the targets; give each layer once`);
    seen.add(t.layer);
    for (const [j, v] of t.vectors.entries()) {
      if (v.length !== dModel) {
        throw new UserError('E_BASELINE_OPTIONS', `random baseline: layer ${t.layer} vector ${j}: expected ${dModel} entries (the model's d_model), got ${v.length}`);
      }
    }
  }
}
