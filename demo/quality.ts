// How good the demo model is, in nats per token: held-out cross-entropy next to the unigram entropy, and
// grammatical windows next to the same tokens shuffled. Used by demo/evaluate.ts (docs/demo.md's numbers)
// and test/demo/quality.test.ts (the asserted margins).
import type { Engine } from '../core/engine.js';
import { Rng } from '../core/rng.js';
import { consecutiveWindows } from './training/train.js';

/** Entropy of the stream's own token distribution, nats per token. */
export function unigramEntropy(stream: Int32Array): number {
  const counts = new Map<number, number>();
  for (const t of stream) counts.set(t, (counts.get(t) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / stream.length;
    h -= p * Math.log(p);
  }
  return h;
}

/** Cross-entropy of `test` under `train`'s unigram distribution (add-one smoothed over `vocab` ids), nats per token. */
export function unigramCrossEntropy(train: Int32Array, test: Int32Array, vocab: number): number {
  const counts = new Float64Array(vocab).fill(1);
  for (const t of train) counts[t]! += 1;
  const total = train.length + vocab;
  let sum = 0;
  for (const t of test) sum -= Math.log(counts[t]! / total);
  return sum / test.length;
}

/** A seeded Fisher-Yates shuffle of each window's tokens (same tokens, no grammar). */
export function shuffleWindows(windows: number[][], seed: number): number[][] {
  const rng = Rng.seeded(seed);
  return windows.map((w) => {
    const s = [...w];
    for (let i = s.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [s[i], s[j]] = [s[j]!, s[i]!];
    }
    return s;
  });
}

export interface Quality {
  seqLen: number;
  windows: number;
  /** Mean next-token CE over the held-out windows (positions 1..n-1). */
  ce: number;
  /** Standard deviation of the per-window CE (for a report's fluency threshold: mean + 2 sd). */
  ceStd: number;
  /** The same windows with their tokens shuffled. */
  shuffledCE: number;
  /** Fraction of windows whose CE is below their shuffled twin's. */
  fractionBelowShuffled: number;
  unigramEntropy: number;
}

/** Why: the numbers docs/demo.md reports and the test asserts, from one function. */
export async function measureQuality(engine: Engine, heldout: Int32Array, options: { seqLen: number; maxWindows: number; seed: number }): Promise<Quality> {
  const windows = consecutiveWindows(heldout, options.seqLen, options.maxWindows);
  const shuffled = shuffleWindows(windows, options.seed);
  const objective = { kind: 'logit', token: 0 } as const; // any objective: only CE is read
  const a = (await engine.evaluate(windows, objective)).ce;
  const b = (await engine.evaluate(shuffled, objective)).ce;
  const mean = (xs: Float32Array) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ce = mean(a);
  const ceStd = Math.sqrt(a.reduce((s, x) => s + (x - ce) ** 2, 0) / Math.max(1, a.length - 1));
  let below = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! < b[i]!) below++;
  return {
    seqLen: options.seqLen,
    windows: windows.length,
    ce,
    ceStd,
    shuffledCE: mean(b),
    fractionBelowShuffled: below / a.length,
    unigramEntropy: unigramEntropy(heldout),
  };
}
