// The unembedding W_U [dModel, dVocab], kept as column slabs. Why: on wasm, h @ W_U with Pythia's W_U (512 x 50304,
// 103 MB) streams the whole matrix from memory for every few rows of h, and a thread's neighbour does the same; a
// slab of ~1024 columns stays in cache, and the log-sum-exp of its logits runs while they are in cache. So the
// cross-entropy never needs the [rows, dVocab] logits at all: slab log-sum-exps combine exactly, and a target's
// logit is one dot product with its row of W_U^T. Gemma 2's final soft-capping applies to every logit all of these
// produce (a slab's before its log-sum-exp, a target's after its dot product), so everything sees capped logits.
import * as tf from '@tensorflow/tfjs-core';
import { softcap } from './attention.js';

export interface Unembed {
  /** [dModel, s_j] column slabs of W_U in vocabulary order; a single slab is the whole matrix. */
  slabs: tf.Tensor2D[];
  /** W_U^T [dVocab, dModel]: the gradient's product and the targets' rows. */
  wT: tf.Tensor2D;
  /** Logits -> tanh(l / c) * c (finalSoftcap). */
  softcap?: number;
}

/** Logits as the model gives them: soft-capped when it caps them. */
function capped<T extends tf.Tensor>(u: Unembed, logits: T): T {
  return u.softcap === undefined ? logits : softcap(logits, u.softcap);
}

/** Slabs of about `columns` columns each (the whole matrix when `columns` is absent or not smaller). */
export function unembedFrom(w: tf.Tensor2D, wT: tf.Tensor2D, columns?: number, softcap?: number): Unembed {
  const V = w.shape[1];
  const cap = softcap === undefined ? {} : { softcap };
  if (!columns || columns >= V) return { slabs: [w], wT, ...cap };
  const count = Math.ceil(V / columns);
  const sizes = Array.from({ length: count }, (_, j) => Math.floor((V * (j + 1)) / count) - Math.floor((V * j) / count));
  return { slabs: tf.split(w, sizes, 1) as tf.Tensor2D[], wT, ...cap };
}

/** Logits [R, dVocab] from final hidden states h [R, dModel]; d/dh = dy @ W_U^T (no gradient to W_U), through the cap. */
export function unembedLogits(u: Unembed, h: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
    value:
      u.slabs.length === 1
        ? tf.matMul(x as tf.Tensor2D, u.slabs[0]!)
        : tf.concat(
            u.slabs.map((s) => tf.matMul(x as tf.Tensor2D, s)),
            1,
          ),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, u.wT),
  }));
  return capped(u, f(h) as tf.Tensor2D);
}

/** log(sum_v exp(logits[r, v])) per row [R], slab by slab (each slab's logits freed before the next). No gradient. */
export function unembedLogSumExp(u: Unembed, h: tf.Tensor2D): tf.Tensor1D {
  if (u.slabs.length === 1) return tf.logSumExp(capped(u, tf.matMul(h, u.slabs[0]!)), -1) as tf.Tensor1D;
  const parts = u.slabs.map((s) => tf.tidy(() => tf.logSumExp(capped(u, tf.matMul(h, s)), -1, true))); // [R, 1] each
  return tf.logSumExp(tf.concat(parts, 1), -1) as tf.Tensor1D;
}

/** logits[r, tokens[r]] = h[r] . W_U[:, tokens[r]] per row [R]. */
export function unembedAt(u: Unembed, h: tf.Tensor2D, tokens: tf.Tensor1D): tf.Tensor1D {
  return capped(u, tf.sum(tf.mul(h, tf.gather(u.wT, tokens)), -1) as tf.Tensor1D);
}

/** -log_softmax(logits)[target] from final hidden states h [B, m, dModel] and targets [B, m] ids -> [B, m]. */
export function hiddenNll(u: Unembed, h: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const [B, m, d] = h.shape;
  const rows = tf.reshape(h, [B * m, d]) as tf.Tensor2D;
  const nll = tf.sub(unembedLogSumExp(u, rows), unembedAt(u, rows, tf.reshape(targets, [B * m]) as tf.Tensor1D));
  return tf.reshape(nll, [B, m]) as tf.Tensor2D;
}

/** Next-token cross-entropy at positions 1..n-1 from hidden states [B, n, dModel] and ids [B, n] -> [B, n-1]. */
export function hiddenNextTokenCE(u: Unembed, h: tf.Tensor3D, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, n, d] = h.shape;
  return hiddenNll(u, tf.slice(h, [0, 0, 0], [B, n - 1, d]), tf.slice(ids, [0, 1], [B, n - 1]));
}

/** Mean next-token cross-entropy per prompt [B] (NaN for one-token prompts: nothing to predict). */
export function hiddenMeanCE(u: Unembed, h: tf.Tensor3D, ids: tf.Tensor2D): tf.Tensor1D {
  const [B, n] = h.shape;
  if (n < 2) return tf.fill([B], NaN) as tf.Tensor1D;
  return tf.mean(hiddenNextTokenCE(u, h, ids), -1) as tf.Tensor1D;
}

/** Logits at the last position [B, dVocab] from hidden states [B, n, dModel]. */
export function hiddenLastLogits(u: Unembed, h: tf.Tensor3D): tf.Tensor2D {
  const [B, n, d] = h.shape;
  return unembedLogits(u, tf.reshape(tf.slice(h, [0, n - 1, 0], [B, 1, d]), [B, d]) as tf.Tensor2D);
}
