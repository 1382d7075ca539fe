// The random-prompt baseline on a tiny GPT-NeoX fixture: deterministic per seed and independent of batching,
// prompts free of special tokens, and statistics equal to a direct computation through engine.evaluate.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBaseline, type RandomBaselineOptions } from '../../../core/baselines/random.js';
import type { Engine } from '../../../core/engine.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { randomVectorSet } from '../../../core/objectives/vectors.js';
import type { ScanTarget } from '../../../core/corpus/result.js';

const MODEL = join(import.meta.dirname, '../../fixtures/models/tiny-parallel');

/** The engine with every prompt it is asked for recorded, in order. */
function recording(engine: Engine): { engine: Engine; seen: number[][] } {
  const seen: number[][] = [];
  const wrapped: Engine = {
    shape: engine.shape,
    tokenizer: engine.tokenizer,
    backend: engine.backend,
    evaluate: (ids, objective) => engine.evaluate(ids, objective),
    gradients: (...args) => engine.gradients(...args),
    taps: (ids, names, options) => {
      seen.push(...ids.map((r) => [...r]));
      return engine.taps(ids, names, options);
    },
    dispose: () => {},
  };
  return { engine: wrapped, seen };
}

describe('randomBaseline', () => {
  let engine: TfjsEngine;
  let targets: ScanTarget[];
  beforeAll(async () => {
    engine = await TfjsEngine.load(MODEL, { backend: 'wasm' });
    targets = [...randomVectorSet([0, 2], 3, 11, engine.shape.dModel)].map(([layer, vectors]) => ({ layer, vectors }));
  });
  afterAll(() => engine.dispose());
  const base = (): RandomBaselineOptions => ({ engine, targets, prompts: 40, seqLen: 6, seed: 5, batchSize: 16, top: 4 });

  it('gives identical JSON for the same seed, whatever the batch size, and other prompts for another seed', async () => {
    const a = JSON.stringify(await randomBaseline(base()));
    const b = JSON.stringify(await randomBaseline(base()));
    const c = JSON.stringify(await randomBaseline({ ...base(), batchSize: 7 }));
    const d = await randomBaseline({ ...base(), seed: 6 });
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(d.pairs[0]!.mean).not.toBe(JSON.parse(a).pairs[0].mean);
  });

  it('draws its prompts from the regular vocabulary only: no special token ever appears', async () => {
    const rec = recording(engine);
    await randomBaseline({ ...base(), engine: rec.engine, prompts: 300 });
    expect(rec.seen).toHaveLength(300);
    const used = new Set(rec.seen.flat());
    for (const id of engine.tokenizer.specialIds) expect(used.has(id), `special id ${id}`).toBe(false);
    for (const id of used) expect(id).toBeLessThan(engine.tokenizer.vocabSize);
    expect(used.size).toBeGreaterThan(200); // 1800 draws over 298 ids reach most of them
  });

  it('agrees with engine.evaluate on the resid objective: mean, unbiased std, max, best prompts and their CE', async () => {
    const rec = recording(engine);
    const r = await randomBaseline({ ...base(), engine: rec.engine });
    expect(r).toMatchObject({ format: 'dreamsweep.random', version: 1, prompts: 40, seqLen: 6, seed: 5, vocabulary: 298 });
    expect(r.pairs.map((p) => [p.layer, p.vector])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [2, 0],
      [2, 1],
      [2, 2],
    ]);
    for (const p of r.pairs) {
      const vector = targets.find((t) => t.layer === p.layer)!.vectors[p.vector]!;
      const e = await engine.evaluate(rec.seen, { kind: 'resid', layer: p.layer, vector });
      const f = [...e.f];
      const mean = f.reduce((s, x) => s + x, 0) / f.length;
      const std = Math.sqrt(f.reduce((s, x) => s + (x - mean) ** 2, 0) / (f.length - 1));
      expect(p.count).toBe(40);
      expect(Math.abs(p.mean! - mean)).toBeLessThan(1e-4);
      expect(Math.abs(p.std! - std)).toBeLessThan(1e-4);
      expect(Math.abs(p.max! - Math.max(...f))).toBeLessThan(1e-4);
      // The best prompts, best first, are the prompts with the highest f.
      const order = f
        .map((x, i) => [x, i] as const)
        .sort((x, y) => y[0] - x[0])
        .slice(0, 4);
      expect(p.top.map((t) => t.source.token / 6)).toEqual(order.map(([, i]) => i));
      p.top.forEach((t, k) => {
        const i = order[k]![1];
        expect(t.ids).toEqual(rec.seen[i]);
        expect(t.text).toBe(engine.tokenizer.decode(t.ids));
        expect(Math.abs(t.alignment - f[i]!)).toBeLessThan(1e-4);
        expect(Math.abs(t.ce - e.ce[i]!)).toBeLessThan(1e-5);
        expect(t.source).toEqual({ file: 'random', byteOffset: 0, token: i * 6 });
      });
    }
  });

  it("reports progress per batch and stops with the signal's reason when aborted", async () => {
    const progress: number[] = [];
    await randomBaseline({ ...base(), onProgress: (p) => progress.push(p.prompts) });
    expect(progress).toEqual([16, 32, 40]);
    const ac = new AbortController();
    const reason = new Error('stop here');
    const run = randomBaseline({ ...base(), signal: ac.signal, onProgress: () => ac.abort(reason) });
    await expect(run).rejects.toBe(reason);
  });

  it('rejects bad options with E_BASELINE_OPTIONS', async () => {
    const bad: Array<Partial<RandomBaselineOptions>> = [
      { prompts: 1 },
      { seqLen: 1 },
      { batchSize: 0 },
      { top: -1 },
      { seed: 1.5 },
      { targets: [] },
      { targets: [{ layer: 3, vectors: [new Float32Array(32)] }] },
      { targets: [{ layer: 0, vectors: [new Float32Array(31)] }] },
    ];
    for (const b of bad) await expect(randomBaseline({ ...base(), ...b }), JSON.stringify(b)).rejects.toMatchObject({ code: 'E_BASELINE_OPTIONS' });
  });
});
