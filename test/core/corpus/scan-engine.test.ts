// The scan on the real tfjs engine (a tiny GPT-NeoX fixture): its alignments and CE agree with the engine's
// own `resid` objective, so the scan standardises the residual exactly as EPO does.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanCorpus } from '../../../core/corpus/scan.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { jsonl, targets, tempDir } from './helpers.js';

const MODELS = join(import.meta.dirname, '../../fixtures/models');

describe('scanCorpus on the tfjs engine', () => {
  let engine: TfjsEngine;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    engine = await TfjsEngine.load(join(MODELS, 'tiny-parallel'), { backend: 'wasm' });
    tmp = tempDir();
  });
  afterAll(() => {
    engine.dispose();
    tmp.cleanup();
  });

  it('ranks windows by the same alignment and CE that the engine computes for the resid objective', async () => {
    const texts = [
      'The quick brown fox jumps over the lazy dog, and then it runs away into the forest.',
      'Language models read text one token at a time and predict what comes next.',
      'A scan keeps the windows whose residual stream aligns best with each direction.',
    ];
    const file = tmp.write('c.jsonl', jsonl(texts));
    const t = targets([1], 3, engine.shape.dModel);
    const r = await scanCorpus({
      shards: [file],
      tokenizer: engine.tokenizer,
      evaluate: (ids, names, o) => engine.taps(ids, names, o),
      targets: t,
      n: 6,
      k: 3,
      batchSize: 4,
    });
    expect(r.windows).toBeGreaterThan(5);
    for (const [j, p] of r.pairs.entries()) {
      const e = await engine.evaluate(
        p.top.map((w) => w.ids),
        { kind: 'resid', layer: 1, vector: t[0]!.vectors[j]! },
      );
      p.top.forEach((w, i) => {
        expect(Math.abs(w.alignment - e.f[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(e.f[i]!)));
        expect(Math.abs(w.ce - e.ce[i]!)).toBeLessThan(1e-5 * Math.max(1, e.ce[i]!));
        expect(w.text).toBe(engine.tokenizer.decode(w.ids));
      });
    }
  });
});
