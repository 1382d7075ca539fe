import { describe, expect, it } from 'vitest';
import { LogHistogram, ZERO_BELOW } from '../../../core/stats/histogram.js';

describe('LogHistogram', () => {
  it('puts each value in a bucket at most 12.5% wide that holds it, zeros apart', () => {
    const h = new LogHistogram();
    const xs = [0, 1e-9, 1, 1.1, 1.125, 3, -3, -0.5, 1000.5, 7e-6];
    for (const x of xs) h.add(x);
    expect(h.zero).toBe(2);
    expect(h.count).toBe(xs.length);
    for (const x of xs.filter((x) => Math.abs(x) >= ZERO_BELOW)) {
      const b = h.buckets().find((b) => (x > 0 ? b.lo <= x && x < b.hi : b.lo < x && x <= b.hi));
      expect(b, `bucket of ${x}`).toBeDefined();
      expect(b!.hi - b!.lo).toBeLessThanOrEqual(Math.abs(b!.lo) * 0.125 + 1e-300);
    }
    // 1 and 1.1 share [1, 1.125); 1.125 starts the next one.
    expect(h.buckets().find((b) => b.lo === 1)!.count).toBe(2);
  });

  it('merges shards into exactly the histogram of the whole stream, and survives JSON', () => {
    const all = new LogHistogram();
    const parts = [new LogHistogram(), new LogHistogram(), new LogHistogram()];
    for (let i = 0; i < 3000; i++) {
      const x = Math.sin(i * 12.9898) * 43758.5453 * (i % 7 === 0 ? 0 : 1e-3 * (1 + (i % 13)));
      all.add(x);
      parts[i % 3]!.add(x);
    }
    const merged = LogHistogram.fromJSON(JSON.parse(JSON.stringify(parts[0]!.toJSON())));
    merged.merge(parts[1]!);
    merged.merge(LogHistogram.fromJSON(parts[2]!.toJSON()));
    expect(JSON.stringify(merged.toJSON())).toBe(JSON.stringify(all.toJSON()));
  });

  it('reads quantiles within a bucket of the exact ones', () => {
    const h = new LogHistogram();
    const xs = Array.from({ length: 1001 }, (_, i) => 1 + i / 10);
    for (const x of xs) h.add(x);
    for (const q of [0, 0.5, 0.9, 0.99, 1]) {
      const exact = xs[Math.round(q * 1000)]!;
      expect(Math.abs(h.quantile(q)! - exact)).toBeLessThanOrEqual(exact * 0.125);
    }
    expect(new LogHistogram().quantile(0.5)).toBeNull();
  });
});
