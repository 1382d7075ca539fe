// The scan on the tfjs engine against Hugging Face transformers: windows, alignment statistics, best windows and
// CE (by prefix length too) equal scripts/golden/scan_golden.py's direct computation (within 1e-4) on two fixture checkpoints and the
// smoke corpus; and on the real engine, a resumed scan and merged shard scans equal one uninterrupted scan.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScanCheckpoint, ScanTarget } from '../../../core/corpus/result.js';
import { mergeScanResults, scanCorpus, type ScanOptions } from '../../../core/corpus/scan.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { randomVectorSet, readVectorFile } from '../../../core/objectives/vectors.js';

const ROOT = join(import.meta.dirname, '../../..');
const GOLDEN = join(ROOT, 'test/fixtures/golden');
const TOL = 1e-4; // float32 activations from two implementations; statistics in float64 on both sides

interface GoldenTop {
  ids: number[];
  alignment: number;
  ce: number;
  source: { byteOffset: number; token: number };
}
interface Golden {
  corpus: string;
  corpusSha256: string;
  n: number;
  stride: number;
  k: number;
  windows: number;
  tokens: number;
  documents: number;
  documentTokens: number;
  ce: { count: number; mean: number; std: number; max: number; min: number };
  ceByLength: Array<{ tokens: number; count: number; mean: number; std: number }>;
  pairs: Array<{ layer: number; vector: number; count: number; mean: number; std: number; max: number; top: GoldenTop[] }>;
}

const engines: TfjsEngine[] = [];
afterAll(() => engines.forEach((e) => e.dispose()));

async function setUp(model: string): Promise<{ engine: TfjsEngine; golden: Golden; targets: ScanTarget[]; corpus: string }> {
  const engine = await TfjsEngine.load(join(ROOT, 'test/fixtures/models', model), { backend: 'wasm' });
  engines.push(engine);
  const golden = JSON.parse(readFileSync(join(GOLDEN, `scan-${model}.json`), 'utf8')) as Golden;
  const set = readVectorFile(join(GOLDEN, `scan-vectors-${model}.json`), engine.shape.dModel);
  const targets = [...set].sort(([a], [b]) => a - b).map(([layer, vectors]) => ({ layer, vectors }));
  return { engine, golden, targets, corpus: join(ROOT, golden.corpus) };
}

describe.each(['tiny-parallel', 'tiny-serial-rope1'])('scan of the smoke corpus with %s', (model) => {
  it("uses the sweeps' vectors and the corpus the golden numbers were made from", async () => {
    const { engine, golden, targets, corpus } = await setUp(model);
    const drawn = randomVectorSet(
      targets.map((t) => t.layer),
      4,
      2024,
      engine.shape.dModel,
    );
    for (const t of targets) expect(t.vectors).toEqual(drawn.get(t.layer));
    const sha = createHash('sha256').update(readFileSync(corpus)).digest('hex');
    expect(sha, `${golden.corpus} changed: rerun scripts/golden/scan_golden.py`).toBe(golden.corpusSha256);
  });

  it('equals transformers: windows, alignment mean/std/max, best windows with their CE, and the CE distribution', async () => {
    const { engine, golden, targets, corpus } = await setUp(model);
    const r = await scanCorpus({
      shards: [corpus],
      tokenizer: engine.tokenizer,
      evaluate: (ids, names, o) => engine.taps(ids, names, o),
      targets,
      n: golden.n,
      stride: golden.stride,
      k: golden.k,
      batchSize: 32,
    });
    expect({ windows: r.windows, tokens: r.tokens, documents: r.documents, documentTokens: r.documentTokens }).toEqual({
      windows: golden.windows,
      tokens: golden.tokens,
      documents: golden.documents,
      documentTokens: golden.documentTokens,
    });
    expect(r.ce.count).toBe(golden.ce.count);
    for (const key of ['mean', 'std', 'max', 'min'] as const) expect(Math.abs(r.ce[key]! - golden.ce[key]), `ce ${key}`).toBeLessThan(TOL);
    expect(r.ce.byLength.map((l) => [l.tokens, l.count])).toEqual(golden.ceByLength.map((l) => [l.tokens, l.count]));
    r.ce.byLength.forEach((l, i) => {
      expect(Math.abs(l.mean! - golden.ceByLength[i]!.mean), `CE of ${l.tokens} tokens: mean`).toBeLessThan(TOL);
      expect(Math.abs(l.std! - golden.ceByLength[i]!.std), `CE of ${l.tokens} tokens: std`).toBeLessThan(TOL);
    });
    expect(r.pairs.map((p) => [p.layer, p.vector])).toEqual(golden.pairs.map((p) => [p.layer, p.vector]));
    r.pairs.forEach((p, i) => {
      const g = golden.pairs[i]!;
      const at = `layer ${g.layer} vector ${g.vector}`;
      expect(p.count).toBe(g.count);
      for (const key of ['mean', 'std', 'max'] as const) expect(Math.abs(p[key]! - g[key]), `${at} ${key}`).toBeLessThan(TOL);
      // Rank by rank the alignments agree; windows agree except where a near-tie (< TOL) may swap them.
      expect(p.top).toHaveLength(g.top.length);
      p.top.forEach((t, k) => expect(Math.abs(t.alignment - g.top[k]!.alignment), `${at} rank ${k}`).toBeLessThan(TOL));
      const cutoff = g.top[g.top.length - 1]!.alignment + TOL;
      for (const gt of g.top.filter((e) => e.alignment > cutoff)) {
        const mine = p.top.find((t) => t.source.byteOffset === gt.source.byteOffset && t.source.token === gt.source.token);
        expect(mine, `${at}: window ${JSON.stringify(gt.source)} missing from the top`).toBeDefined();
        expect(mine!.ids).toEqual(gt.ids);
        expect(basename(mine!.source.file)).toBe(basename(golden.corpus));
        expect(Math.abs(mine!.alignment - gt.alignment)).toBeLessThan(TOL);
        expect(Math.abs(mine!.ce - gt.ce)).toBeLessThan(TOL);
      }
    });
  });
});

describe('scan on the tfjs engine, interrupted or split', () => {
  it('resumed from a mid-way checkpoint, or split into byte ranges and merged, equals one uninterrupted scan', async () => {
    const { engine, targets, corpus } = await setUp('tiny-parallel');
    const options: ScanOptions = {
      shards: [corpus],
      tokenizer: engine.tokenizer,
      evaluate: (ids, names, o) => engine.taps(ids, names, o),
      targets,
      n: 8,
      stride: 6,
      k: 3,
      batchSize: 16,
    };
    const checkpoints: ScanCheckpoint[] = [];
    const whole = await scanCorpus({ ...options, checkpointEvery: 1, onCheckpoint: (ck) => void checkpoints.push(JSON.parse(JSON.stringify(ck))) });
    expect(checkpoints.length).toBeGreaterThan(4);
    const resumed = await scanCorpus({ ...options, resume: checkpoints[3]! });
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(whole));

    const size = statSync(corpus).size;
    const cuts = [0, Math.floor(size / 3), Math.floor((2 * size) / 3), size];
    const parts = await Promise.all([2, 0, 1].map((i) => scanCorpus({ ...options, shards: [{ uri: corpus, start: cuts[i]!, end: cuts[i + 1]! }], batchSize: 5 + i })));
    expect(JSON.stringify(mergeScanResults(parts))).toBe(JSON.stringify({ ...whole, shards: [{ uri: corpus, end: size }] }));
  });
});
