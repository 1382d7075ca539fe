// The distribution of a feature's activations over a corpus, mergeable exactly: log-linear buckets (each
// power of two split into 8 equal parts, so a bucket is at most 12.5% of its lower bound wide, as in HDR
// histograms and DDSketch), fixed by the value alone. Counts of shards add up to one scan's; no range has to
// be known in advance, and the many exact zeros of an SAE latent sit in their own bucket.

/** Per power of two. */
export const SUB_BUCKETS = 8;
/** Magnitudes below this count as zero (below float32's normal range, where activations are noise). */
export const ZERO_BELOW = 2 ** -24;

export interface HistogramBucketJson {
  /** [lo, hi), or (lo, hi] for negative values (the mirror of |x|'s bucket): exact doubles, powers of two times k/8. */
  lo: number;
  hi: number;
  count: number;
}

/** Serialised: the zero bucket's count and the non-empty buckets in ascending order of `lo`. */
export interface HistogramJson {
  subBuckets: typeof SUB_BUCKETS;
  zeroBelow: number;
  zero: number;
  buckets: HistogramBucketJson[];
}

const view = new DataView(new ArrayBuffer(8));

/** The bucket of |x| >= ZERO_BELOW as an integer: exponent * 8 + the top three mantissa bits (no allocation: the scan's hot path). */
function magnitudeKey(m: number): number {
  view.setFloat64(0, m);
  const hiWord = view.getUint32(0);
  return (((hiWord >>> 20) & 0x7ff) - 1023) * SUB_BUCKETS + ((hiWord >>> 17) & 0x7);
}

/** [lo, hi) of a magnitude key. */
function magnitudeBounds(key: number): { lo: number; hi: number } {
  const e = Math.floor(key / SUB_BUCKETS);
  const sub = key - e * SUB_BUCKETS;
  const base = 2 ** e;
  return { lo: base * (1 + sub / SUB_BUCKETS), hi: base * (1 + (sub + 1) / SUB_BUCKETS) };
}

/** Why: an activation histogram that shards, checkpoints and merges without changing a count. */
export class LogHistogram {
  zero = 0;
  /** Keyed by sign * (1 + magnitude key - min key), so positive and negative buckets never collide. */
  private readonly counts = new Map<number, { lo: number; hi: number; count: number }>();

  get count(): number {
    let c = this.zero;
    for (const b of this.counts.values()) c += b.count;
    return c;
  }

  add(x: number, times = 1): void {
    if (!Number.isFinite(x)) throw new Error(`LogHistogram.add: expected a finite number, got ${x}`);
    const m = Math.abs(x);
    if (m < ZERO_BELOW) {
      this.zero += times;
      return;
    }
    const magnitude = magnitudeKey(m);
    const key = (x < 0 ? -1 : 1) * (magnitude + 10_000);
    const have = this.counts.get(key);
    if (have) {
      have.count += times;
      return;
    }
    const b = magnitudeBounds(magnitude);
    this.counts.set(key, x < 0 ? { lo: -b.hi, hi: -b.lo, count: times } : { lo: b.lo, hi: b.hi, count: times });
  }

  merge(other: LogHistogram): void {
    this.zero += other.zero;
    for (const b of other.buckets()) this.add((b.lo + b.hi) / 2, b.count);
  }

  /** Non-empty buckets, ascending. */
  buckets(): HistogramBucketJson[] {
    return [...this.counts.values()].map((b) => ({ ...b })).sort((a, b) => a.lo - b.lo);
  }

  toJSON(): HistogramJson {
    return { subBuckets: SUB_BUCKETS, zeroBelow: ZERO_BELOW, zero: this.zero, buckets: this.buckets() };
  }

  static fromJSON(j: HistogramJson): LogHistogram {
    if (j.subBuckets !== SUB_BUCKETS || j.zeroBelow !== ZERO_BELOW) {
      throw new Error(`LogHistogram: expected ${SUB_BUCKETS} sub-buckets and zero below ${ZERO_BELOW}, got ${j.subBuckets} and ${j.zeroBelow}`);
    }
    const h = new LogHistogram();
    h.zero = j.zero;
    for (const b of j.buckets) h.add((b.lo + b.hi) / 2, b.count);
    return h;
  }

  /**
   * The value at quantile q (0..1) as the buckets tell it: linear within the bucket that holds rank
   * q * (count - 1), so within one bucket's width (12.5%) of the exact quantile; null when empty.
   */
  quantile(q: number): number | null {
    const total = this.count;
    if (total === 0) return null;
    const rank = Math.min(1, Math.max(0, q)) * (total - 1);
    let seen = 0;
    const parts: Array<{ lo: number; hi: number; count: number }> = [];
    const sorted = this.buckets();
    for (const b of sorted) if (b.hi <= 0) parts.push(b);
    if (this.zero) parts.push({ lo: 0, hi: 0, count: this.zero });
    for (const b of sorted) if (b.lo > 0) parts.push(b);
    for (const p of parts) {
      if (rank < seen + p.count) return p.lo + (p.hi - p.lo) * ((rank - seen + 0.5) / p.count);
      seen += p.count;
    }
    const last = parts[parts.length - 1]!;
    return last.hi;
  }
}

/** The quantiles a feature's distribution reports (Neuronpedia-style summaries). */
export const QUANTILES = [0.5, 0.9, 0.99, 0.999] as const;
