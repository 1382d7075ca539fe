// The committed demo model has learned its grammar: held-out cross-entropy far below the unigram entropy,
// and grammatical windows far below the same tokens shuffled (docs/demo.md has the full-shard numbers).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TfjsEngine } from '../../core/model/tfjs-engine.js';
import { DEMO_MODEL_DIR, HELDOUT_SHARD, packStream, readTexts } from '../../demo/data.js';
import { measureQuality, type Quality } from '../../demo/quality.js';

describe('demo model quality on the held-out shard (300 windows of 12 tokens)', () => {
  let engine: TfjsEngine;
  let q: Quality;
  beforeAll(async () => {
    engine = await TfjsEngine.load(DEMO_MODEL_DIR, { backend: 'wasm' });
    const heldout = packStream(await readTexts([HELDOUT_SHARD]), engine.tokenizer);
    q = await measureQuality(engine, heldout, { seqLen: 12, maxWindows: 300, seed: 0 });
  });
  afterAll(() => engine?.dispose());

  it('loads as a 4-layer Pythia-shaped model with the demo tokenizer', () => {
    expect(engine.shape).toEqual({ nLayers: 4, dModel: 128, dMlp: 512, dVocab: 1024 });
    expect(engine.model.cfg.parallelAttnMlp).toBe(true);
    expect(engine.model.cfg.rotaryDim).toBe(8);
    expect(join(DEMO_MODEL_DIR, 'tokenizer.json')).toContain('demo');
  });

  it('has held-out CE at least 2.5 nats/token below the unigram entropy', () => {
    expect(q.windows).toBe(300);
    expect(q.ce).toBeLessThan(q.unigramEntropy - 2.5);
  });

  it('scores grammatical windows at least 3 nats/token below the same tokens shuffled, window by window', () => {
    expect(q.shuffledCE - q.ce).toBeGreaterThan(3);
    expect(q.fractionBelowShuffled).toBeGreaterThan(0.97);
  });
});
