// EPO's one-hot gradient has two terms (core/engine.ts): through the embeddings, and through CE's one-hot targets.
// The second is exactly +lambda/(n-1) * log_softmax(logits[i-1]) at each position i >= 1 and zero at position 0 (the
// gradient of f - lambda*CE; of the paper's loss -(f - lambda*CE) it is the same with a minus). It is <= 0 and
// closest to 0 for probable tokens, so it pulls candidates toward fluent ones; the paper's code takes it, and an
// engine that holds CE's targets constant misses it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { embedOneHot, forward, lastLogits, meanNextTokenCE } from '../../../core/model/transformer.js';
import { objectiveTaps, objectiveValue } from '../../../core/model/objectives.js';
import { FIXTURE_NAMES, MODELS, flat, readGolden, scaledMaxDiff, toObjective } from './helpers.js';

const TOL = 1e-4;

/** lambda_b/(n-1) * log_softmax(logits[b, i-1]) at i >= 1, zero at i = 0: flat [B, n, V]. */
function targetTerm(logits: tf.Tensor3D, lambdas: number[]): Float32Array {
  const [B, n, V] = logits.shape;
  const logp = tf.logSoftmax(logits, -1).dataSync();
  const out = new Float32Array(B * n * V);
  for (let b = 0; b < B; b++) {
    for (let i = 1; i < n; i++) {
      for (let v = 0; v < V; v++) out[(b * n + i) * V + v] = (lambdas[b]! / (n - 1)) * logp[(b * n + i - 1) * V + v]!;
    }
  }
  return out;
}

const minus = (a: ArrayLike<number>, b: ArrayLike<number>) => Float32Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!);

describe.each(FIXTURE_NAMES)('the one-hot gradient on %s', (name) => {
  const golden = readGolden(name);
  let engine: TfjsEngine;
  beforeAll(async () => {
    engine = await TfjsEngine.load(join(MODELS, name), { backend: 'wasm' });
  });
  afterAll(() => engine.dispose());

  it.each(golden.objectives.map((o) => [o.objective.kind, o] as const))('includes the CE-target term for the %s objective (engine and transformers alike)', async (_kind, g) => {
    const objective = toObjective(g.objective);
    const { prompts, lambdas } = golden;
    const [B, n, V] = [prompts.length, prompts[0]!.length, engine.shape.dVocab];
    const full = (await engine.gradients(prompts, lambdas, objective, 1, { full: true })).grads!;

    // The gradient through the embeddings alone, and the logits, from the same forward pass.
    const { embedOnly, term } = tf.tidy(() => {
      const idsT = tf.tensor2d(prompts, [B, n], 'int32');
      const lam = tf.tensor1d(lambdas);
      const taps = objectiveTaps(objective);
      const loss = (x: tf.Tensor) => {
        const res = forward(engine.model, embedOneHot(engine.model, x as tf.Tensor3D), { taps, logits: 'all' });
        const f = objectiveValue(objective, res.taps, lastLogits(res.logits as tf.Tensor3D));
        return tf.sum(tf.sub(f, tf.mul(lam, meanNextTokenCE(res.logits as tf.Tensor3D, idsT))));
      };
      const oneHot = tf.cast(tf.oneHot(idsT, V), 'float32');
      const logits = forward(engine.model, embedOneHot(engine.model, oneHot as tf.Tensor3D), { taps: [], logits: 'all' }).logits as tf.Tensor3D;
      return { embedOnly: tf.grad(loss)(oneHot).dataSync() as Float32Array, term: targetTerm(logits, lambdas) };
    });

    expect(scaledMaxDiff(minus(full, embedOnly), term)).toBeLessThan(TOL);
    expect(scaledMaxDiff(minus(flat(g.grads), flat(g.grads_embed)), term)).toBeLessThan(TOL);
    expect(scaledMaxDiff(embedOnly, flat(g.grads_embed))).toBeLessThan(TOL);
  });
});
