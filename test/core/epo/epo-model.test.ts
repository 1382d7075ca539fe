// EPO on a real GPT-NeoX checkpoint (a generated fixture run by the tfjs engine): it must beat random
// search given the same number of evaluated prompts, and its frontier must span fluent to strong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epo } from '../../../core/epo/epo.js';
import { regularVocabulary } from '../../../core/model/vocabulary.js';
import { paretoFrontier } from '../../../core/epo/frontier.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { PoolEngine } from '../../../core/model/pool-engine.js';
import { encodeHistory } from '../../../core/epo/history.js';
import { parseObjective } from '../../../core/objectives/spec.js';
import { Rng } from '../../../core/rng.js';

let engine: TfjsEngine;
beforeAll(async () => {
  engine = await TfjsEngine.load('test/fixtures/models/tiny-parallel', { backend: 'wasm' });
});
afterAll(() => engine.dispose());

describe('epo on a GPT-NeoX checkpoint', () => {
  it('beats random search with the same number of evaluated prompts on residual directions', async () => {
    const margins: number[] = [];
    for (const seed of [1, 2, 3]) {
      const objective = parseObjective(`resid:1:random:${seed}`, engine.shape, engine.tokenizer);
      let evaluated = 0;
      const run = await epo(
        engine,
        objective,
        { iters: 40, population: 4, children: 16, topk: 32, seqLen: 8, seed, restartEvery: 10 },
        {
          onProgress: (p) => void (evaluated = p.evaluated),
        },
      );
      const epoBest = Math.max(...run.history.flat().f);

      const vocab = regularVocabulary(engine);
      const rng = Rng.seeded(1000 + seed);
      const prompts = Array.from({ length: evaluated }, () => Array.from({ length: 8 }, () => vocab[rng.int(vocab.length)]!));
      const f = Array.from((await engine.evaluate(prompts, objective)).f);
      const mean = f.reduce((a, b) => a + b, 0) / f.length;
      const sd = Math.sqrt(f.reduce((a, b) => a + (b - mean) ** 2, 0) / (f.length - 1));
      // Margin in the random prompts' standard deviations (the report's z-score units).
      margins.push((epoBest - Math.max(...f)) / sd);
    }
    for (const m of margins) expect(m).toBeGreaterThan(0);
    expect(margins.reduce((a, b) => a + b, 0) / margins.length).toBeGreaterThan(0.5);
  });

  it('produces a frontier from the best f down to the most fluent prompt seen', async () => {
    const objective = parseObjective('resid:2:random:9', engine.shape, engine.tokenizer);
    const run = await epo(engine, objective, { iters: 30, population: 6, children: 12, topk: 32, seqLen: 8, seed: 5, restartEvery: 10 });
    const flat = run.history.flat();
    const points = paretoFrontier([run.history], (ids) => engine.tokenizer.decode(ids));
    expect(points.length).toBeGreaterThanOrEqual(3);
    expect(points[0]!.f).toBe(Math.max(...flat.f));
    // At the top of the lambda grid (100) the frontier holds (nearly) the lowest-CE prompt of the run.
    expect(points.at(-1)!.ce).toBeLessThanOrEqual(Math.min(...flat.ce) + 0.05);
    expect(points[0]!.ce - points.at(-1)!.ce).toBeGreaterThan(0.5);
  });
});

describe('epo with prefix reuse and threads', () => {
  const settings = { iters: 10, population: 4, children: 12, topk: 16, seqLen: 7, seed: 4, restartEvery: 4 };
  const choices = (h: Awaited<ReturnType<typeof epo>>['history']) => h.iterations.map((it) => [Array.from(it.ids), Array.from(it.keep)]);

  it('makes the same choices with prefix reuse as without, f and CE within 1e-5, on every fixture', async () => {
    for (const name of ['tiny-parallel', 'tiny-serial-rope1', 'tiny-fp16', 'tiny-sharded-bf16']) {
      const dir = `test/fixtures/models/${name}`;
      const on = await TfjsEngine.load(dir, { backend: 'wasm' });
      const off = await TfjsEngine.load(dir, { backend: 'wasm', prefixReuse: false });
      try {
        const objective = parseObjective('resid:1:random:3', on.shape, on.tokenizer);
        // The paper's algorithm on every fixture, and its section-6 mutations (shifts change from min(del, ins)) on one.
        const cfg = name === 'tiny-parallel' ? { ...settings, twoTokenFraction: 0.3, shiftFraction: 0.3 } : settings;
        const a = await epo(on, objective, cfg);
        const b = await epo(off, objective, cfg);
        expect(choices(a.history), name).toEqual(choices(b.history));
        const [fa, fb] = [a.history.flat(), b.history.flat()];
        const scale = Math.max(1, ...Array.from(fb.f, Math.abs));
        fa.f.forEach((v, i) => expect(Math.abs(v - fb.f[i]!) / scale).toBeLessThan(1e-5));
        fa.ce.forEach((v, i) => expect(Math.abs(v - fb.ce[i]!) / Math.max(1, fb.ce[i]!)).toBeLessThan(1e-5));
      } finally {
        on.dispose();
        off.dispose();
      }
    }
  });

  it('writes a byte-identical history on one thread and on two', async () => {
    const pool = await PoolEngine.load('test/fixtures/models/tiny-serial-rope1', { threads: 2, backend: 'wasm' });
    const single = await TfjsEngine.load('test/fixtures/models/tiny-serial-rope1', { backend: 'wasm' });
    try {
      const objective = parseObjective('neuron:1:3', single.shape, single.tokenizer);
      const a = await epo(single, objective, settings);
      const b = await epo(pool, objective, settings);
      expect(Buffer.from(encodeHistory(a.history, {})).equals(Buffer.from(encodeHistory(b.history, {})))).toBe(true);
    } finally {
      pool.dispose();
      single.dispose();
    }
  });
});
