import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { corpusWindows, windowCount, type TokenWindow, type WindowOptions } from '../../../core/corpus/windows.js';
import { isUserError } from '../../../core/errors.js';
import { jsonl, tempDir, wordDocs } from './helpers.js';

// Token ids are the numbers written in the text: "3 4 5" -> [3, 4, 5].
const numbers = { encode: (t: string) => (t.trim() ? t.trim().split(/\s+/).map(Number) : []) };
const seq = (from: number, count: number) => Array.from({ length: count }, (_, i) => String(from + i)).join(' ');

async function collect(it: AsyncIterable<TokenWindow>): Promise<TokenWindow[]> {
  const out: TokenWindow[] = [];
  for await (const w of it) out.push(w);
  return out;
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('corpusWindows', () => {
  it('takes n-token windows of each document at stride n, dropping a tail shorter than n', async () => {
    const lines = jsonl([seq(0, 7), seq(100, 2), seq(200, 3)]);
    const a = tmp.write('a.jsonl', lines);
    const ws = await collect(corpusWindows([{ uri: a }], numbers, { n: 3 }));
    expect(ws.map((w) => w.ids)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [200, 201, 202],
    ]);
    expect(ws.map((w) => w.source.token)).toEqual([0, 3, 0]);
    expect(ws[2]!.source).toEqual({ file: a, byteOffset: lines.indexOf('{"text":"200'), token: 0 });
  });

  it('overlaps windows at a stride below n and leaves gaps above it', async () => {
    const a = tmp.write('a.jsonl', jsonl([seq(0, 8)]));
    expect((await collect(corpusWindows([{ uri: a }], numbers, { n: 4, stride: 2 }))).map((w) => w.ids[0])).toEqual([0, 2, 4]);
    expect((await collect(corpusWindows([{ uri: a }], numbers, { n: 2, stride: 5 }))).map((w) => w.ids)).toEqual([
      [0, 1],
      [5, 6],
    ]);
  });

  it('counts windows by formula', () => {
    expect([windowCount(7, 3), windowCount(2, 3), windowCount(3, 3), windowCount(8, 4, 2), windowCount(8, 2, 5)]).toEqual([2, 0, 1, 3, 2]);
  });

  it('reports every document read, with its token count', async () => {
    const a = tmp.write('a.jsonl', jsonl([seq(0, 7), '', seq(5, 1)]));
    const b = tmp.write('b.txt', seq(9, 4));
    const docs: number[] = [];
    await collect(corpusWindows([{ uri: a }, { uri: b }], numbers, { n: 3, onDocument: (t) => docs.push(t) }));
    expect(docs).toEqual([7, 0, 1, 4]);
  });

  it('resumes after any window into exactly the rest of the sequence, counting no document twice', async () => {
    const texts = wordDocs(30);
    const a = tmp.write('a.jsonl', jsonl(texts.slice(0, 15)));
    const b = tmp.write('b.jsonl', jsonl(texts.slice(15)));
    const words = {
      encode: (t: string) =>
        t.trim()
          ? t
              .trim()
              .split(/\s+/)
              .map((w) => Number(w.slice(1)))
          : [],
    };
    const shards = [{ uri: a }, { uri: b }];
    const options: WindowOptions = { n: 5, stride: 3 };
    let fullDocs = 0;
    const all = await collect(corpusWindows(shards, words, { ...options, onDocument: () => fullDocs++ }));
    expect(all.length).toBeGreaterThan(50);
    for (let cut = 0; cut < all.length; cut++) {
      let docs = 0;
      const head = corpusWindows(shards, words, { ...options, onDocument: () => docs++ });
      for (let i = 0; i <= cut; i++) await head.next();
      await head.return(undefined);
      const rest = await collect(corpusWindows(shards, words, { ...options, from: all[cut]!.next, onDocument: () => docs++ }));
      expect(rest).toEqual(all.slice(cut + 1));
      expect(docs).toBe(fullDocs);
    }
  });

  it('rejects a bad n or stride and a resume position that no longer exists', async () => {
    const a = tmp.write('a.jsonl', jsonl([seq(0, 9), seq(0, 9)]));
    const fail = async (o: WindowOptions) => {
      try {
        await collect(corpusWindows([{ uri: a }], numbers, o));
      } catch (e) {
        return isUserError(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(await fail({ n: 1 })).toBe('E_SCAN_OPTIONS');
    expect(await fail({ n: 3, stride: 0 })).toBe('E_SCAN_OPTIONS');
    expect(await fail({ n: 3, from: { shard: 0, byteOffset: 5, window: 1 } })).toBe('E_SCAN_RESUME_MISMATCH');
    expect(await fail({ n: 3, from: { shard: 4, byteOffset: 0, window: 1 } })).toBe('E_SCAN_RESUME_MISMATCH');
  });
});
