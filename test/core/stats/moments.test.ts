import { describe, expect, it } from 'vitest';
import { Moments } from '../../../core/stats/moments.js';

function data(count: number): number[] {
  let s = 7;
  return Array.from({ length: count }, () => 3.7 + 1.1 * Math.tan(((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2));
}

function twoPass(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  const v = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(v) };
}

describe('Moments', () => {
  it('gives the mean and the unbiased std of a two-pass computation', () => {
    const xs = data(10_000);
    const m = new Moments();
    xs.forEach((x) => m.add(x));
    const ref = twoPass(xs);
    expect(Math.abs(m.mean()! - ref.mean)).toBeLessThan(1e-12 * Math.abs(ref.mean));
    expect(Math.abs(m.std()! - ref.std)).toBeLessThan(1e-12 * ref.std);
    expect(m.max).toBe(Math.max(...xs));
    expect(m.min).toBe(Math.min(...xs));
  });

  it('stays accurate with a large mean and a tiny spread', () => {
    const m = new Moments();
    for (const x of [1e9 + 1, 1e9 + 2, 1e9 + 3]) m.add(x);
    expect(m.mean()).toBe(1e9 + 2);
    expect(m.std()).toBe(1);
  });

  it('is the same, to the byte, however the values are split, ordered and merged', () => {
    const xs = data(5000);
    const whole = new Moments();
    xs.forEach((x) => whole.add(x));
    const parts = Array.from({ length: 4 }, () => new Moments());
    [...xs].reverse().forEach((x, i) => parts[(i * 7) % 4]!.add(x));
    const merged = new Moments();
    for (const p of [parts[3]!, parts[1]!, parts[0]!, parts[2]!]) merged.merge(Moments.fromJSON(JSON.parse(JSON.stringify(p.toJSON()))));
    expect(JSON.stringify(merged.toJSON())).toBe(JSON.stringify(whole.toJSON()));
    expect([merged.mean(), merged.std()]).toEqual([whole.mean(), whole.std()]);
  });

  it('reports null statistics it cannot define', () => {
    const m = new Moments();
    expect([m.mean(), m.std(), m.toJSON().max]).toEqual([null, null, null]);
    m.add(2);
    expect([m.mean(), m.std()]).toEqual([2, null]);
  });
});
