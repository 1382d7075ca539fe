// The two normalisations: LayerNorm (GPT-NeoX, GPT-2) and RMSNorm (Llama and its kin; Qwen 3's per-head q/k norm).
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.js';

/** LayerNorm's weight and bias; RMSNorm has the weight alone. */
export interface NormWeights {
  w: tf.Tensor1D;
  b?: tf.Tensor1D;
}

export interface LayerNormWeights {
  w: tf.Tensor1D;
  b: tf.Tensor1D;
}

/** LayerNorm over the last axis with the biased variance, as torch.nn.LayerNorm. */
export function layerNorm<T extends tf.Tensor>(x: T, ln: LayerNormWeights, eps: number): T {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, ln.w), ln.b);
}

/** x * rsqrt(mean(x^2) + eps) * w over the last axis, as transformers' LlamaRMSNorm (float32 here anyway). */
export function rmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  const normed = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
  return tf.mul(w, normed);
}

/** The model's normalisation. */
export function norm<T extends tf.Tensor>(x: T, n: NormWeights, cfg: Pick<ModelConfig, 'normalization' | 'eps'>): T {
  return cfg.normalization === 'LN' ? layerNorm(x, n as LayerNormWeights, cfg.eps) : rmsNorm(x, n.w, cfg.eps);
}
