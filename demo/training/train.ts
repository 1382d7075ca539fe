// Language-model training for small GPT-NeoX models on the tfjs backend in use: seeded random windows of a
// token stream, Adam with linear warmup and cosine decay, global-norm gradient clipping, the engine's own
// next-token cross-entropy as the loss. Emits events; never prints.
import * as tf from '@tensorflow/tfjs-core';
import { attentionContext } from '../../core/model/attention.js';
import { meanNextTokenCE } from '../../core/model/transformer.js';
import { Rng } from '../../core/rng.js';
import { trainableVariables, trainForward, type TrainableNeoX } from './model.js';

export interface TrainOptions {
  steps: number;
  batchSize: number;
  /** Window length in tokens; the loss is the mean CE over positions 1..seqLen-1. */
  seqLen: number;
  /** Peak learning rate. */
  lr: number;
  warmupSteps: number;
  /** The cosine decays to lr * minLrFraction. */
  minLrFraction: number;
  /** Global gradient-norm clip (0 = none). */
  clipNorm: number;
  seed: number;
  /** Evaluate on `evalTokens` every this many steps (0 = only at the end). */
  evalEvery: number;
}

export const TRAIN_DEFAULTS: Omit<TrainOptions, 'steps'> = {
  batchSize: 32,
  seqLen: 32,
  lr: 3e-3,
  warmupSteps: 50,
  minLrFraction: 0.1,
  clipNorm: 1,
  seed: 0,
  evalEvery: 0,
};

export type TrainEvent = { kind: 'step'; step: number; loss: number; lr: number; seconds: number } | { kind: 'eval'; step: number; ce: number };

/** Learning rate at `step` (0-based): linear warmup, then cosine to minLrFraction. */
export function learningRate(step: number, o: Pick<TrainOptions, 'steps' | 'lr' | 'warmupSteps' | 'minLrFraction'>): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const t = (step - o.warmupSteps) / Math.max(1, o.steps - o.warmupSteps);
  return o.lr * (o.minLrFraction + (1 - o.minLrFraction) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t))));
}

/** `count` windows of `n` tokens starting at seeded random offsets of `stream`. */
export function sampleWindows(stream: Int32Array, n: number, count: number, rng: Rng): number[][] {
  if (stream.length < n) throw new Error(`sampleWindows: the stream has ${stream.length} tokens, fewer than a window of ${n}`);
  const rows: number[][] = [];
  for (let i = 0; i < count; i++) {
    const start = rng.int(stream.length - n + 1);
    rows.push(Array.from(stream.subarray(start, start + n)));
  }
  return rows;
}

/** Consecutive non-overlapping windows of `n` tokens (at most `max`): a fixed evaluation set. */
export function consecutiveWindows(stream: Int32Array, n: number, max = Infinity): number[][] {
  const rows: number[][] = [];
  for (let s = 0; s + n <= stream.length && rows.length < max; s += n) rows.push(Array.from(stream.subarray(s, s + n)));
  return rows;
}

/** Mean next-token CE (nats per predicted token) of the model over windows, in batches. */
export function evaluateCE(model: TrainableNeoX, windows: number[][], batchSize = 64): number {
  let sum = 0;
  for (let i = 0; i < windows.length; i += batchSize) {
    const rows = windows.slice(i, i + batchSize);
    const ce = tf.tidy(() => {
      const ids = tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
      return tf.sum(meanNextTokenCE(trainForward(model, ids), ids));
    });
    sum += ce.dataSync()[0]!;
    ce.dispose();
  }
  return sum / windows.length;
}

/** Why: one seeded training run; the same seed, stream and backend give the same weights. */
export async function trainLM(
  model: TrainableNeoX,
  stream: Int32Array,
  options: Partial<TrainOptions> & { steps: number },
  evalWindows: number[][] = [],
  onEvent: (e: TrainEvent) => void = () => {},
): Promise<{ finalCE?: number }> {
  const o: TrainOptions = { ...TRAIN_DEFAULTS, ...options };
  const rng = Rng.seeded(o.seed);
  const vars = trainableVariables(model);
  const optimizer = tf.train.adam(o.lr, 0.9, 0.95, 1e-8);
  // Adam reads its learning rate on every step; tfjs keeps the field protected, hence the cast.
  const settable = optimizer as unknown as { learningRate: number };
  const ctx = attentionContext(model.cfg, o.seqLen);
  try {
    for (let step = 0; step < o.steps; step++) {
      const t0 = performance.now();
      const lr = learningRate(step, o);
      settable.learningRate = lr;
      const rows = sampleWindows(stream, o.seqLen, o.batchSize, rng);
      const loss = tf.tidy(() => {
        const ids = tf.tensor2d(rows, [o.batchSize, o.seqLen], 'int32');
        const { value, grads } = tf.variableGrads(() => tf.mean(meanNextTokenCE(trainForward(model, ids, ctx), ids)) as tf.Scalar, vars);
        let scale: tf.Scalar = tf.scalar(1);
        if (o.clipNorm > 0) {
          const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
          scale = tf.minimum(1, tf.div(o.clipNorm, tf.add(norm, 1e-6)));
        }
        optimizer.applyGradients(Object.entries(grads).map(([name, g]) => ({ name, tensor: tf.mul(g, scale) })));
        return value;
      });
      const lossValue = (await loss.data())[0]!;
      loss.dispose();
      onEvent({ kind: 'step', step, loss: lossValue, lr, seconds: (performance.now() - t0) / 1000 });
      if (o.evalEvery > 0 && evalWindows.length && (step + 1) % o.evalEvery === 0 && step + 1 < o.steps) {
        onEvent({ kind: 'eval', step: step + 1, ce: evaluateCE(model, evalWindows) });
      }
    }
    if (!evalWindows.length) return {};
    const finalCE = evaluateCE(model, evalWindows);
    onEvent({ kind: 'eval', step: o.steps, ce: finalCE });
    return { finalCE };
  } finally {
    optimizer.dispose();
    tf.dispose([ctx.cos, ctx.sin, ctx.mask]);
  }
}
