import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CE_HISTOGRAM, type ScanCheckpoint, type ScanResult } from '../../../core/corpus/result.js';
import type { TapValues } from '../../../core/engine.js';
import { mergeScanResults, scanCorpus, type ScanEvent, type ScanOptions } from '../../../core/corpus/scan.js';
import { resolveShards } from '../../../core/corpus/source.js';
import { code, fakeEvaluator, jsonl, tempDir, targets, wordDocs, wordTokenizer, zstdRaw } from './helpers.js';

const D_MODEL = 16;
const N = 6;

let tmp: ReturnType<typeof tempDir>;
let shards: string[];
beforeEach(async () => {
  tmp = tempDir();
  const docs = wordDocs(120);
  tmp.write('c.jsonl.zst', zstdRaw(jsonl(docs.slice(0, 50)), 3000));
  tmp.write('a.jsonl', jsonl(docs.slice(50, 100)));
  tmp.write('b.txt', docs.slice(100).join(' '));
  tmp.write('d.txt', 'too short');
  shards = await resolveShards(tmp.dir);
});
afterEach(() => tmp.cleanup());

function options(over: Partial<ScanOptions> = {}): ScanOptions {
  return {
    shards,
    tokenizer: wordTokenizer(),
    evaluate: fakeEvaluator(D_MODEL),
    targets: targets([1, 3], 4, D_MODEL),
    n: N,
    stride: 4,
    k: 5,
    batchSize: 7,
    ...over,
  };
}

const json = (r: unknown) => JSON.stringify(r);

describe('scanCorpus', () => {
  it('reports every pair with statistics and its top windows, plus windows, tokens and CE', async () => {
    const r = await scanCorpus(options());
    expect(r).toMatchObject({ format: 'dreamsweep.scan', version: 3, stoppedBy: 'end', documents: 102 });
    expect(r.windows).toBeGreaterThan(100);
    expect(r.tokens).toBe(r.windows * N);
    expect(r.pairs.map((p) => [p.layer, p.vector])).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
      [1, 3],
      [3, 0],
      [3, 1],
      [3, 2],
      [3, 3],
    ]);
    for (const p of r.pairs) {
      expect(p.count).toBe(r.windows);
      expect(p.top).toHaveLength(5);
      expect(p.top[0]!.alignment).toBe(p.max);
      expect(p.top.map((t) => t.alignment)).toEqual([...p.top.map((t) => t.alignment)].sort((a, b) => b - a));
      expect(p.top[0]!.text).toBe(wordTokenizer().decode(p.top[0]!.ids));
      expect(p.top[0]!.ids).toHaveLength(N);
    }
    expect(r.ce.count).toBe(r.windows);
    expect(r.ce.mean).toBeGreaterThan(1);
    expect(r.ce.std).toBeGreaterThan(0);
  });

  it("keeps the windows' CE histogram and the CE of every prefix length (Figs. 5c, 5a)", async () => {
    const seen: TapValues[] = [];
    const evaluate = fakeEvaluator(D_MODEL);
    const r = await scanCorpus(
      options({
        evaluate: async (ids, names) => {
          const t = await evaluate(ids, names);
          seen.push(t);
          return t;
        },
      }),
    );
    const ce = seen.flatMap((t) => Array.from(t.ce));
    const positions = seen.flatMap((t) => Array.from(t.cePositions!));
    expect(ce).toHaveLength(r.windows);
    const counts = new Array<number>(CE_HISTOGRAM.bins).fill(0);
    for (const x of ce) counts[Math.floor(x / CE_HISTOGRAM.width)]!++;
    expect(r.ce.histogram).toEqual({ width: CE_HISTOGRAM.width, counts });
    expect(r.ce.byLength.map((l) => l.tokens)).toEqual(Array.from({ length: N - 1 }, (_, i) => i + 2));
    for (const l of r.ce.byLength) {
      const prefix = ce.map((_, w) => positions.slice(w * (N - 1), w * (N - 1) + l.tokens - 1).reduce((a, x) => a + x, 0) / (l.tokens - 1));
      const mean = prefix.reduce((a, x) => a + x, 0) / prefix.length;
      const std = Math.sqrt(prefix.reduce((a, x) => a + (x - mean) ** 2, 0) / (prefix.length - 1));
      expect(l.count).toBe(r.windows);
      expect(l.mean).toBeCloseTo(mean, 10);
      expect(l.std).toBeCloseTo(std, 10);
    }
    expect(r.ce.byLength.at(-1)!.mean).toBeCloseTo(r.ce.mean!, 6); // all n tokens: the window CE
  });

  it('rejects an evaluator that returns no per-position CE', async () => {
    const evaluate = fakeEvaluator(D_MODEL);
    await expect(scanCorpus(options({ evaluate: async (ids, names) => ({ ...(await evaluate(ids, names)), cePositions: undefined }) }))).rejects.toThrow(
      /no per-position CE values/,
    );
  });

  it('computes the alignment of the standardised residual (unbiased std) with each vector', async () => {
    const t = targets([2], 3, D_MODEL);
    const r = await scanCorpus(options({ targets: t, k: 1 }));
    const best = r.pairs[1]!.top[0]!;
    const taps = await fakeEvaluator(D_MODEL)([best.ids], ['resid_pre.2']);
    const x = Array.from(taps.values['resid_pre.2']!);
    const mean = x.reduce((a, v) => a + v, 0) / D_MODEL;
    const std = Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / (D_MODEL - 1));
    const expected = x.reduce((a, v, i) => a + ((v - mean) / std) * t[0]!.vectors[1]![i]!, 0);
    expect(best.alignment).toBeCloseTo(expected, 12);
    expect(best.ce).toBe(taps.ce[0]);
  });

  it('stops at the token budget, counting n tokens per window', async () => {
    const r = await scanCorpus(options({ tokenBudget: 100 }));
    expect([r.windows, r.tokens, r.stoppedBy]).toEqual([16, 96, 'budget']);
    const full = await scanCorpus(options());
    const exact = await scanCorpus(options({ tokenBudget: full.tokens }));
    expect(exact.windows).toBe(full.windows);
  });

  it('evaluates each window once, in batches, and calls the evaluator with the layers asked for', async () => {
    const calls = { windows: 0, batches: 0 };
    const seen: string[][] = [];
    const evaluate = fakeEvaluator(D_MODEL, calls);
    const r = await scanCorpus(options({ evaluate: (ids, names) => (seen.push(names), evaluate(ids, names)) }));
    expect(calls.windows).toBe(r.windows);
    expect(calls.batches).toBe(Math.ceil(r.windows / 7));
    expect(seen[0]).toEqual(['resid_pre.1', 'resid_pre.3']);
  });

  it('resumes from any checkpoint into a result byte-identical to the uninterrupted scan', async () => {
    const checkpoints: ScanCheckpoint[] = [];
    const events: ScanEvent[] = [];
    const full = await scanCorpus(options({ checkpointEvery: 1, onCheckpoint: (c) => void checkpoints.push(JSON.parse(json(c))), onEvent: (e) => events.push(e) }));
    expect(checkpoints.length).toBeGreaterThan(10);
    expect(events.filter((e) => e.type === 'checkpoint')).toHaveLength(checkpoints.length);
    expect(events.at(-1)).toEqual({ type: 'done', windows: full.windows, tokens: full.tokens, stoppedBy: 'end' });
    for (const c of checkpoints) {
      const calls = { windows: 0, batches: 0 };
      const resumed = await scanCorpus(options({ resume: c, evaluate: fakeEvaluator(D_MODEL, calls) }));
      expect(json(resumed)).toBe(json(full));
      expect(calls.windows).toBe(full.windows - c.partial.windows);
    }
  });

  it('resumes a budgeted scan into the same budgeted result', async () => {
    const checkpoints: ScanCheckpoint[] = [];
    const full = await scanCorpus(options({ tokenBudget: 500, checkpointEvery: 2, onCheckpoint: (c) => void checkpoints.push(c) }));
    const resumed = await scanCorpus(options({ tokenBudget: 500, resume: checkpoints[1]! }));
    expect(json(resumed)).toBe(json(full));
    expect(await code(scanCorpus(options({ tokenBudget: 600, resume: checkpoints[1]! })))).toBe('E_SCAN_RESUME_MISMATCH');
    expect(await code(scanCorpus(options({ tokenBudget: 500, k: 6, resume: checkpoints[1]! })))).toBe('E_SCAN_RESUME_MISMATCH');
    expect(await code(scanCorpus(options({ tokenBudget: 500, shards: shards.slice(1), resume: checkpoints[1]! })))).toBe('E_SCAN_RESUME_MISMATCH');
  });

  it('merges per-shard results into exactly the single scan, in any order', async () => {
    const single = await scanCorpus(options());
    const parts = await Promise.all(shards.map((s) => scanCorpus(options({ shards: [s], allowEmpty: true }))));
    expect(json(mergeScanResults(parts))).toBe(json(single));
    expect(json(mergeScanResults([...parts].reverse()))).toBe(json(single));
    expect(json(mergeScanResults([mergeScanResults(parts.slice(0, 2)), mergeScanResults(parts.slice(2))]))).toBe(json(single));
  });

  it('merges byte ranges of one file into exactly the scan of the whole file', async () => {
    const file = shards.find((s) => s.endsWith('a.jsonl'))!;
    const size = statSync(file).size;
    const whole = await scanCorpus(options({ shards: [file] }));
    const cuts = [0, 1000, 1001, 2500, size - 1];
    const parts: ScanResult[] = [];
    for (let i = 0; i < cuts.length; i++) {
      const end = i + 1 < cuts.length ? { end: cuts[i + 1]! } : {}; // the last range is open: "to the end"
      parts.push(await scanCorpus(options({ shards: [{ uri: file, start: cuts[i]!, ...end }], allowEmpty: true })));
    }
    expect(parts.at(-1)!.windows).toBe(0);
    expect(json(mergeScanResults(parts))).toBe(json(whole));
    expect(mergeScanResults(parts).shards).toEqual([{ uri: file }]);
  });

  it('refuses to merge scans with different settings or overlapping shards', async () => {
    const a = await scanCorpus(options({ shards: [shards[0]!] }));
    const b = await scanCorpus(options({ shards: [shards[1]!], k: 3 }));
    expect(await code(Promise.resolve().then(() => mergeScanResults([a, b])))).toBe('E_SCAN_MERGE_MISMATCH');
    expect(await code(Promise.resolve().then(() => mergeScanResults([a, a])))).toBe('E_SCAN_MERGE_OVERLAP');
    expect(await code(Promise.resolve().then(() => mergeScanResults([])))).toBe('E_SCAN_MERGE_MISMATCH');
  });

  it('fails on an empty corpus or one with no window, unless allowed', async () => {
    const empty = tmp.write('empty.jsonl', '\n\n');
    const short = shards.find((s) => s.endsWith('d.txt'))!;
    expect(await code(scanCorpus(options({ shards: [empty] })))).toBe('E_CORPUS_EMPTY');
    expect(await code(scanCorpus(options({ shards: [short] })))).toBe('E_CORPUS_EMPTY');
    const r = await scanCorpus(options({ shards: [short], allowEmpty: true }));
    expect([r.windows, r.documents, r.pairs[0]!.mean, r.pairs[0]!.max, r.ce.mean]).toEqual([0, 1, null, null, null]);
  });

  it('counts skipped lines in the result when asked to skip, and fails on them otherwise', async () => {
    const bad = tmp.write('bad.jsonl', `${jsonl(wordDocs(5, 9))}not json\n{"other":1}\n`);
    expect(await code(scanCorpus(options({ shards: [bad] })))).toBe('E_CORPUS_BAD_JSON');
    const r = await scanCorpus(options({ shards: [bad], skipBad: true }));
    expect(r.skipped).toMatchObject({ count: 2, byCode: { E_CORPUS_BAD_JSON: 1, E_CORPUS_MISSING_FIELD: 1 } });
    expect(r.config.skipBad).toBe(true);
    const all = [...shards, bad].sort();
    const single = await scanCorpus(options({ shards: all, skipBad: true }));
    const parts = await Promise.all(all.map((s) => scanCorpus(options({ shards: [s], skipBad: true, allowEmpty: true }))));
    expect(json(mergeScanResults(parts))).toBe(json(single));
    expect(single.skipped.count).toBe(2);
  });

  it('keeps two batches in flight (the next is read and sent while the current is awaited), with the same result', async () => {
    const inner = fakeEvaluator(D_MODEL);
    let outstanding = 0;
    let most = 0;
    const evaluate: ScanOptions['evaluate'] = async (ids, names) => {
      most = Math.max(most, ++outstanding);
      await new Promise((r) => setTimeout(r, 2));
      outstanding--;
      return inner(ids, names);
    };
    const sequential = await scanCorpus(options());
    expect(json(await scanCorpus(options({ evaluate })))).toBe(json(sequential));
    expect(most).toBe(2);
  });

  it('resumes a scan that skipped lines from any checkpoint: what reading ahead skipped is not in the checkpoint', async () => {
    const docs = wordDocs(40, 5);
    const bad = tmp.write('bad.jsonl', `${jsonl(docs.slice(0, 20))}not json\n{"other":1}\n${jsonl(docs.slice(20))}not json\n`);
    const checkpoints: ScanCheckpoint[] = [];
    const full = await scanCorpus(options({ shards: [bad], skipBad: true, checkpointEvery: 1, onCheckpoint: (c) => void checkpoints.push(JSON.parse(json(c))) }));
    expect(full.skipped.count).toBe(3);
    expect(checkpoints.length).toBeGreaterThan(3);
    for (const c of checkpoints) expect(json(await scanCorpus(options({ shards: [bad], skipBad: true, resume: c })))).toBe(json(full));
  });

  it('runs a CE-only scan with no targets', async () => {
    const r = await scanCorpus(options({ targets: [] }));
    expect(r.pairs).toEqual([]);
    expect(r.ce.count).toBe(r.windows);
  });

  it('rejects vectors that do not match the model and bad options', async () => {
    expect(await code(scanCorpus(options({ targets: targets([1], 2, D_MODEL + 1) })))).toBe('E_SCAN_OPTIONS');
    expect(await code(scanCorpus(options({ batchSize: 0 })))).toBe('E_SCAN_OPTIONS');
    expect(await code(scanCorpus(options({ n: 1 })))).toBe('E_SCAN_OPTIONS');
    expect(await code(scanCorpus(options({ tokenBudget: N - 1 })))).toBe('E_SCAN_OPTIONS');
    expect(await code(scanCorpus(options({ shards: [{ uri: shards[0]!, start: 10, end: 5 }] })))).toBe('E_SCAN_OPTIONS');
  });

  it('stops between batches when aborted', async () => {
    const controller = new AbortController();
    let batches = 0;
    const run = scanCorpus(options({ signal: controller.signal, onEvent: (e) => e.type === 'batch' && ++batches === 2 && controller.abort() }));
    await expect(run).rejects.toThrow(/abort/i);
    expect(batches).toBe(2);
  });
});
