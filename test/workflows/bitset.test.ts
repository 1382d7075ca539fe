// The workflow's bitsets: exact base64 (as Node's), sizes that stay small, counts kept as bits are added.
import { describe, expect, it } from 'vitest';
import { Bitset, decodeBase64, encodeBase64 } from '../../workflows/bitset.js';

describe('Bitset', () => {
  it('encodes base64 exactly as Node does, and back', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 99, 1000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
      expect(encodeBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(decodeBase64(encodeBase64(bytes))).toEqual(bytes);
    }
  });

  it('keeps a million units in 125 KB, counts members, and round-trips', () => {
    const s = new Bitset(1_000_000);
    for (let i = 0; i < 1_000_000; i += 7) s.add(i);
    s.add(7); // already there: not counted twice
    expect(s.cardinality).toBe(Math.ceil(1_000_000 / 7));
    expect(s.bytes.length).toBe(125_000);
    const text = s.toBase64();
    expect(text.length).toBeLessThan(170_000);
    const back = Bitset.fromBase64(1_000_000, text);
    expect(back.cardinality).toBe(s.cardinality);
    expect(back.has(700) && !back.has(701)).toBe(true);
    expect(back.countIn(0, 70)).toBe(10);
    expect(() => Bitset.fromBase64(10, text)).toThrow(/expected 2 bytes/);
  });
});
