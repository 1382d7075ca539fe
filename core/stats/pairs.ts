// The per-(layer, vector) accumulation the dataset scan and the random-prompt baseline share: every alignment
// into the pair's running moments, and into its top-K when it might enter.
import type { ScanTarget } from '../corpus/result.js';
import type { TopEntry, TopK } from '../corpus/topk.js';
import type { LogHistogram } from './histogram.js';
import type { Moments } from './moments.js';

/** One (layer, vector) pair's running statistics and best rows. */
export interface PairAccumulator {
  moments: Moments;
  /** The scan's pairs keep the distribution too (the random baseline's do not). */
  histogram?: LogHistogram;
  top: TopK;
}

/**
 * Adds a batch of B rows to every pair. `rows[t]` is target t's alignments [B, vectors] (targetAlignments); pairs are
 * in target order, then vector order. `entry(b, alignment)` makes row b's top-K entry, only for a row that might enter.
 */
export function accumulatePairs(
  pairs: readonly PairAccumulator[],
  targets: readonly ScanTarget[],
  rows: readonly Float64Array[],
  B: number,
  entry: (b: number, alignment: number) => TopEntry,
): void {
  let pair = 0;
  for (const [ti, t] of targets.entries()) {
    const J = t.vectors.length;
    const a = rows[ti]!;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < J; j++) {
        const alignment = a[b * J + j]!;
        const p = pairs[pair + j]!;
        p.moments.add(alignment);
        p.histogram?.add(alignment);
        if (p.top.mightAccept(alignment)) p.top.offer(entry(b, alignment));
      }
    }
    pair += J;
  }
}
