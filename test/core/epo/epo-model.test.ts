// EPO on a real GPT-NeoX checkpoint (a generated fixture run by the tfjs engine): it must beat random
// search given the same number of evaluated prompts, and its frontier must span fluent to strong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epo, regularVocabulary } from '../../../core/epo/epo.js';
import { paretoFrontier } from '../../../core/epo/frontier.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
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
      const run = await epo(engine, objective, { iters: 40, population: 4, children: 16, topk: 32, seqLen: 8, seed, restartEvery: 10 }, {
        onProgress: (p) => void (evaluated = p.evaluated),
      });
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
