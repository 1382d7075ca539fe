// demo/training: the trainable forward equals TfjsEngine's on the files it writes (so training optimises the
// model the engine runs), training lowers the loss, the same seed gives the same weights, and the schedule.
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../core/model/backend.js';
import { parseModelConfig } from '../../core/model/families/index.js';
import { lastLogits, meanNextTokenCE } from '../../core/model/transformer.js';
import { writeSafetensors } from '../../core/model/safetensors.js';
import { TfjsEngine } from '../../core/model/tfjs-engine.js';
import { hfConfigJson, initTrainable, toHfTensors, trainableVariables, trainForward, type NeoXArchitecture, type TrainableNeoX } from '../../demo/training/model.js';
import { learningRate, trainLM } from '../../demo/training/train.js';
import { DEMO_MODEL_DIR } from '../../demo/data.js';

const ARCH: NeoXArchitecture = { dModel: 32, nHeads: 4, nLayers: 2, dVocab: 1024, dMlp: 64, rotaryPct: 0.25, maxPositions: 64, eosId: 0 };
const cfg = parseModelConfig(hfConfigJson(ARCH));
/** A stream with structure to learn: a repeating 7-token phrase with noise. */
const stream = Int32Array.from({ length: 4000 }, (_, i) => (i % 7 === 3 ? (i * 31) % 1024 : 100 + (i % 7)));
const dispose = (m: TrainableNeoX) => trainableVariables(m).forEach((v) => v.dispose());

beforeAll(async () => {
  await initBackend('wasm');
});

describe('demo/training', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dreamsweep-train-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trainable forward matches TfjsEngine on the written Hugging Face files (logits within 1e-4)', async () => {
    const model = initTrainable(cfg, 3);
    // A few large steps make biases and norms non-trivial, so the QKV reordering and transposes are exercised.
    await trainLM(model, stream, { steps: 3, batchSize: 4, seqLen: 8, lr: 0.05, warmupSteps: 1 });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfigJson(ARCH)));
    writeSafetensors(join(dir, 'model.safetensors'), toHfTensors(model, 'F32'));
    copyFileSync(join(DEMO_MODEL_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const engine = await TfjsEngine.load(dir, { backend: 'wasm' });
    const ids = [
      [5, 300, 17, 900, 42, 42, 7, 1000],
      [0, 1, 2, 3, 4, 5, 6, 7],
    ];
    const taps = await engine.taps(ids, ['logits']);
    const [mine, ce] = tf.tidy(() => {
      const t = tf.tensor2d(ids, [2, 8], 'int32');
      const logits = trainForward(model, t);
      return [lastLogits(logits).dataSync(), meanNextTokenCE(logits, t).dataSync()];
    });
    let maxDiff = 0;
    for (let i = 0; i < mine!.length; i++) maxDiff = Math.max(maxDiff, Math.abs(mine![i]! - taps.values['logits']![i]!));
    expect(maxDiff).toBeLessThan(1e-4);
    for (let i = 0; i < 2; i++) expect(Math.abs(ce![i]! - taps.ce[i]!)).toBeLessThan(1e-4);
    engine.dispose();
    dispose(model);
  });

  it('lowers the loss, and the same seed gives the same weights', async () => {
    const run = async () => {
      const m = initTrainable(cfg, 7);
      const losses: number[] = [];
      await trainLM(m, stream, { steps: 30, batchSize: 8, seqLen: 8, lr: 1e-2, warmupSteps: 5, seed: 2 }, [], (e) => {
        if (e.kind === 'step') losses.push(e.loss);
      });
      const weights = trainableVariables(m).map((v) => Array.from(v.dataSync()));
      dispose(m);
      return { losses, weights };
    };
    const before = tf.memory().numTensors;
    const a = await run();
    expect(tf.memory().numTensors).toBe(before);
    const b = await run();
    expect(a.losses[a.losses.length - 1]!).toBeLessThan(a.losses[0]! - 1.5);
    expect(b.weights).toEqual(a.weights);
  });

  it('warms up linearly, then decays by cosine to the floor', () => {
    const o = { steps: 100, lr: 1, warmupSteps: 10, minLrFraction: 0.1 };
    expect(learningRate(0, o)).toBeCloseTo(0.1);
    expect(learningRate(9, o)).toBeCloseTo(1);
    expect(learningRate(10, o)).toBeCloseTo(1);
    expect(learningRate(55, o)).toBeCloseTo(0.55);
    expect(learningRate(100, o)).toBeCloseTo(0.1);
  });
});
