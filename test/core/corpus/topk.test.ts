import { describe, expect, it } from 'vitest';
import { TopK, type TopEntry } from '../../../core/corpus/topk.js';

function entry(alignment: number, file: string, byteOffset: number, token = 0): TopEntry {
  return { ids: [byteOffset], alignment, ce: 1, source: { file, byteOffset, token } };
}

describe('TopK', () => {
  const entries = [entry(3, 'b', 0), entry(5, 'a', 9), entry(3, 'a', 10), entry(3, 'a', 10, 4), entry(-1, 'a', 0), entry(5, 'a', 2), entry(4, 'c', 0), entry(3, 'a', 1)];

  it('keeps the K best by alignment, ties broken by file, byte offset and token', () => {
    const top = new TopK(5);
    entries.forEach((e) => top.offer(e));
    expect(top.sorted().map((e) => [e.alignment, e.source.file, e.source.byteOffset, e.source.token])).toEqual([
      [5, 'a', 2, 0],
      [5, 'a', 9, 0],
      [4, 'c', 0, 0],
      [3, 'a', 1, 0],
      [3, 'a', 10, 0],
    ]);
  });

  it('keeps the same entries whatever the insertion order or the split into merged parts', () => {
    const reference = new TopK(4);
    entries.forEach((e) => reference.offer(e));
    for (let rot = 0; rot < entries.length; rot++) {
      const order = [...entries.slice(rot), ...entries.slice(0, rot)].reverse();
      const a = new TopK(4);
      const b = new TopK(4);
      order.forEach((e, i) => (i % 2 ? a : b).offer(e));
      a.merge(b);
      expect(a.sorted()).toEqual(reference.sorted());
    }
  });

  it('refuses NaN alignments and handles K = 0', () => {
    expect(() => new TopK(2).offer(entry(Number.NaN, 'a', 0))).toThrow(/NaN/);
    const none = new TopK(0);
    none.offer(entry(1, 'a', 0));
    expect(none.sorted()).toEqual([]);
  });
});
