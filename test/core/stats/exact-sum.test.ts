import { describe, expect, it } from 'vitest';
import { ExactSum, formatHexFloat, parseHexFloat } from '../../../core/stats/exact-sum.js';

/** A double as an exact dyadic n * 2^-1074 (BigInt). */
function exact(x: number): bigint {
  if (x === 0) return 0n;
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const bits = dv.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const m = exp === 0 ? frac : frac | (1n << 52n);
  const v = m << BigInt(exp === 0 ? 0 : exp - 1);
  return bits >> 63n ? -v : v;
}

function values(count: number): number[] {
  // Deterministic values across a wide range of magnitudes and both signs.
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return Array.from({ length: count }, (_, i) => (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20) * (i % 5 === 0 ? 1e200 : 1));
}

describe('ExactSum', () => {
  it('sums exactly, whatever the order', () => {
    const xs = [...values(5000), 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308];
    const reference = xs.reduce((a, x) => a + exact(x), 0n);
    const forward = new ExactSum();
    for (const x of xs) forward.add(x);
    const backward = new ExactSum();
    for (const x of [...xs].reverse()) backward.add(x);
    expect(forward.scaled()).toBe(reference);
    expect(backward.toString()).toBe(forward.toString());
  });

  it('keeps what float addition loses', () => {
    expect(1e300 + 1 - 1e300).toBe(0);
    const s = new ExactSum();
    for (const x of [1e300, 1, -1e300, 2 ** -60]) s.add(x);
    expect(s.toString()).toBe(formatHexFloat(exact(1) + exact(2 ** -60), -1074));
    s.add(-(2 ** -60));
    expect(s.value()).toBe(1);
  });

  it('merges split sums into exactly the whole sum', () => {
    const xs = values(3000);
    const whole = new ExactSum();
    xs.forEach((x) => whole.add(x));
    const parts = [new ExactSum(), new ExactSum(), new ExactSum()];
    xs.forEach((x, i) => parts[i % 3]!.add(x));
    const merged = new ExactSum();
    for (const p of [parts[2]!, parts[0]!, parts[1]!]) merged.addSum(p);
    expect(merged.toString()).toBe(whole.toString());
  });

  it('normalises carries across more than 2^20 additions', () => {
    const s = new ExactSum();
    for (let i = 0; i < 3 * 2 ** 20 + 5; i++) s.add(4294967295.5);
    expect(s.scaled()).toBe(exact(4294967295.5) * BigInt(3 * 2 ** 20 + 5));
  });

  it('round-trips through its text form', () => {
    const s = new ExactSum();
    values(200).forEach((x) => s.add(x));
    s.add(-1e250);
    const back = ExactSum.parse(s.toString());
    expect(back.scaled()).toBe(s.scaled());
    expect(ExactSum.parse('0').value()).toBe(0);
    expect(parseHexFloat('-0x3p-2')).toEqual({ n: -3n, exp: -2 });
    expect(() => ExactSum.parse('1.5')).toThrow(/hexadecimal float/);
  });

  it('rejects values that are not finite', () => {
    expect(() => new ExactSum().add(Number.NaN)).toThrow(/finite/);
    expect(() => new ExactSum().add(Infinity)).toThrow(/finite/);
  });
});
