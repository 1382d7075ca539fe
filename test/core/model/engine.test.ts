// Engine behaviour beyond parity: memory stays flat, chunking and early exit change nothing, bad taps are named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import type { Objective } from '../../../core/engine.js';
import { MODELS, readGolden } from './helpers.js';

const golden = readGolden('tiny-parallel');
const resid: Objective = { kind: 'resid', layer: 1, vector: Float32Array.from(golden.objectives[0]!.objective.kind === 'resid' ? golden.objectives[0]!.objective.vector : []) };

describe('the tfjs engine', () => {
  let engine: TfjsEngine;
  beforeAll(async () => {
    engine = await TfjsEngine.load(join(MODELS, 'tiny-parallel'), { backend: 'wasm' });
  });
  afterAll(() => engine.dispose());

  it('reports its backend and shape', () => {
    expect(engine.backend).toBe('wasm');
    expect(engine.shape).toEqual({ nLayers: 2, dModel: 32, dMlp: 128, dVocab: 320 });
  });

  it('keeps tf.memory().numTensors flat across repeated calls', async () => {
    const round = async () => {
      await engine.evaluate(golden.prompts, resid);
      await engine.gradients(golden.prompts, golden.lambdas, resid, 4, { full: true });
      await engine.gradients(golden.prompts, golden.lambdas, { kind: 'logit', token: 3 }, 4);
      await engine.taps(golden.prompts, ['resid_pre.0', 'mlp_post.1', 'logits']);
      await engine.taps(golden.prompts, ['resid_pre.1'], { ce: false });
    };
    await round();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await round();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the same results when a batch is split into chunks', async () => {
    const small = await TfjsEngine.load(join(MODELS, 'tiny-parallel'), { backend: 'wasm', maxChunkFloats: 1 });
    try {
      const a = await engine.gradients(golden.prompts, golden.lambdas, resid, 5, { full: true });
      const b = await small.gradients(golden.prompts, golden.lambdas, resid, 5, { full: true });
      expect(Array.from(b.f)).toEqual(Array.from(a.f));
      expect(Array.from(b.topk)).toEqual(Array.from(a.topk));
      expect(Array.from(b.grads!)).toEqual(Array.from(a.grads!));
    } finally {
      small.dispose();
    }
  });

  it('computes the same taps when it stops early without logits', async () => {
    const full = await engine.taps(golden.prompts, ['resid_pre.1', 'mlp_post.0']);
    const early = await engine.taps(golden.prompts, ['resid_pre.1', 'mlp_post.0'], { ce: false });
    expect(early.ce.length).toBe(0);
    expect(Array.from(early.values['resid_pre.1']!)).toEqual(Array.from(full.values['resid_pre.1']!));
    expect(Array.from(early.values['mlp_post.0']!)).toEqual(Array.from(full.values['mlp_post.0']!));
    const logitsOnly = await engine.taps(golden.prompts, ['logits'], { ce: false });
    const scale = Math.max(...full.ce.map(Math.abs), 1);
    const withCe = await engine.taps(golden.prompts, ['logits']);
    logitsOnly.values['logits']!.forEach((v, i) => expect(Math.abs(v - withCe.values['logits']![i]!)).toBeLessThan(1e-5 * scale));
  });

  it("returns per-position CE whose mean is the prompt CE and whose prefixes are the prefix prompts' CE", async () => {
    const got = await engine.taps(golden.prompts, ['resid_pre.1'], { cePositions: true });
    const n = golden.prompts[0]!.length;
    expect(got.cePositions!.length).toBe(golden.prompts.length * (n - 1));
    const plain = await engine.taps(golden.prompts, ['resid_pre.1']);
    expect(Array.from(got.ce)).toEqual(Array.from(plain.ce)); // asking for positions changes nothing else
    golden.prompts.forEach((_, b) => {
      const row = got.cePositions!.subarray(b * (n - 1), (b + 1) * (n - 1));
      expect(Math.abs(row.reduce((a, x) => a + x, 0) / (n - 1) - golden.ce[b]!)).toBeLessThan(1e-5);
    });
    // Causal: the first m-1 positions of a prompt are the CE of its first m tokens on their own.
    for (const m of [2, Math.ceil(n / 2)]) {
      const prefix = await engine.taps(
        golden.prompts.map((p) => p.slice(0, m)),
        [],
      );
      golden.prompts.forEach((_, b) => {
        const row = got.cePositions!.subarray(b * (n - 1), b * (n - 1) + m - 1);
        expect(Math.abs(row.reduce((a, x) => a + x, 0) / (m - 1) - prefix.ce[b]!)).toBeLessThan(1e-5);
      });
    }
  });
  it('rejects an unknown tap with the list of valid names', async () => {
    await expect(engine.taps(golden.prompts, ['resid_pre.3'])).rejects.toMatchObject({
      code: 'E_TAP_UNKNOWN',
      message: expect.stringContaining('resid_pre.0 .. resid_pre.2'),
    });
    await expect(engine.taps(golden.prompts, ['hook_resid_pre'])).rejects.toMatchObject({ code: 'E_TAP_UNKNOWN' });
  });

  it('rejects token ids outside the vocabulary and ragged batches', async () => {
    await expect(engine.evaluate([[1, 320]], resid)).rejects.toMatchObject({ code: 'E_TOKEN_ID' });
    await expect(engine.evaluate([[1, 2], [3]], resid)).rejects.toMatchObject({ code: 'E_ENGINE_INPUT' });
  });

  it('proposes only allowed tokens in top-k', async () => {
    const allowed = new Uint8Array(320);
    for (let t = 10; t < 20; t++) allowed[t] = 1;
    const g = await engine.gradients(golden.prompts, golden.lambdas, resid, 10, { allowed });
    expect(new Set(g.topk)).toEqual(new Set([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]));
    const dflt = await engine.gradients(golden.prompts, golden.lambdas, resid, 20);
    for (const t of dflt.topk) expect(t).toBeLessThan(engine.tokenizer.vocabSize); // 300: ids 300..319 are padding
  });
});
