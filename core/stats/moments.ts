// Count, mean, unbiased std, min and max of a stream of doubles, mergeable exactly: the sums of x and x^2
// are exact (ExactSum, Dekker's product), and mean and variance are computed once from the exact integers,
// so the result depends only on the multiset of values seen, not on order, sharding or checkpoints. This
// replaces a Welford/Chan merge, whose float64 result depends on how the stream was split.
import { ExactSum, scaledToNumber } from './exact-sum.js';

/** Serialised Moments: the exact sums as hexadecimal floats, min/max as numbers (null when empty). */
export interface MomentsJson {
  count: number;
  sum: string;
  sumSq: string;
  min: number | null;
  max: number | null;
}

const EXTRA_BITS = 128n; // quotient precision kept before rounding to a double
const SPLIT = 2 ** 27 + 1; // Veltkamp splitter for float64

/** Why: the scan's per-(layer, vector) and cross-entropy statistics, identical however a scan is split. */
export class Moments {
  count = 0;
  min = Infinity;
  max = -Infinity;
  private readonly sum = new ExactSum();
  private readonly sumSq = new ExactSum();

  add(x: number): void {
    if (!Number.isFinite(x)) throw new Error(`Moments.add: expected a finite number, got ${x}`);
    this.count++;
    this.sum.add(x);
    // x^2 exactly as p + e (Dekker's product): no cancellation when the mean dwarfs the spread.
    const p = x * x;
    const c = SPLIT * x;
    const hi = c - (c - x);
    const lo = x - hi;
    this.sumSq.add(p);
    this.sumSq.add(hi * hi - p + 2 * hi * lo + lo * lo);
    if (x > this.max) this.max = x;
    if (x < this.min) this.min = x;
  }

  merge(other: Moments): void {
    this.count += other.count;
    this.sum.addSum(other.sum);
    this.sumSq.addSum(other.sumSq);
    if (other.max > this.max) this.max = other.max;
    if (other.min < this.min) this.min = other.min;
  }

  /** Mean, or null with no values. */
  mean(): number | null {
    if (this.count === 0) return null;
    const q = (this.sum.scaled() << EXTRA_BITS) / BigInt(this.count);
    return scaledToNumber(q, -1074 - Number(EXTRA_BITS));
  }

  /** Unbiased (n - 1) variance, or null with fewer than two values. */
  variance(): number | null {
    const n = BigInt(this.count);
    if (n < 2n) return null;
    const s1 = this.sum.scaled(); // units of 2^-1074
    const s2 = this.sumSq.scaled(); // units of 2^-1074
    // (n * S2 - S1^2) / (n (n - 1)), in units of 2^-2148: exact, so never negative for normal-range values.
    let num = ((n * s2) << 1074n) - s1 * s1;
    if (num < 0n) num = 0n;
    const q = (num << EXTRA_BITS) / (n * (n - 1n));
    return scaledToNumber(q, -2148 - Number(EXTRA_BITS));
  }

  /** Unbiased standard deviation, or null with fewer than two values. */
  std(): number | null {
    const v = this.variance();
    return v === null ? null : Math.sqrt(v);
  }

  toJSON(): MomentsJson {
    return {
      count: this.count,
      sum: this.sum.toString(),
      sumSq: this.sumSq.toString(),
      min: this.count ? this.min : null,
      max: this.count ? this.max : null,
    };
  }

  static fromJSON(json: MomentsJson): Moments {
    const m = new Moments();
    m.count = json.count;
    m.sum.addSum(ExactSum.parse(json.sum));
    m.sumSq.addSum(ExactSum.parse(json.sumSq));
    m.min = json.min ?? Infinity;
    m.max = json.max ?? -Infinity;
    return m;
  }
}
