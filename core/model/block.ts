// One GPT-NeoX block (mirrors transformers' GPTNeoXLayer): parallel `x + attn(ln1(x)) + mlp(ln2(x))` as in
// Pythia, or serial `h = x + attn(ln1(x)); h + mlp(ln2(h))`.
import * as tf from '@tensorflow/tfjs-core';
import type { NeoXConfig } from './config.js';
import { attention, type AttentionContext, type AttentionWeights, type KV } from './attention.js';
import { mlp, type MlpWeights } from './mlp.js';

export interface LayerNormWeights {
  w: tf.Tensor1D;
  b: tf.Tensor1D;
}

export interface BlockWeights {
  ln1: LayerNormWeights;
  ln2: LayerNormWeights;
  attn: AttentionWeights;
  mlp: MlpWeights;
}

/** LayerNorm over the last axis with the biased variance, as torch.nn.LayerNorm. */
export function layerNorm(x: tf.Tensor3D, ln: LayerNormWeights, eps: number): tf.Tensor3D {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, ln.w), ln.b);
}

/**
 * x: [B, n, dModel] -> the next residual stream, this block's MLP activation [B, n, dMlp] and its attention's
 * keys/values (all positions, the past's included). With `past`, x holds only the positions after it.
 */
export function block(x: tf.Tensor3D, w: BlockWeights, cfg: NeoXConfig, ctx: AttentionContext, past?: KV): { resid: tf.Tensor3D; mlpPost: tf.Tensor3D; kv: KV } {
  const { out: attnOut, kv } = attention(layerNorm(x, w.ln1, cfg.lnEps), w.attn, cfg, ctx, past);
  if (cfg.parallelAttnMlp) {
    const m = mlp(layerNorm(x, w.ln2, cfg.lnEps), w.mlp);
    return { resid: tf.add(tf.add(m.out, attnOut), x), mlpPost: m.post, kv };
  }
  const mid = tf.add(attnOut, x) as tf.Tensor3D;
  const m = mlp(layerNorm(mid, w.ln2, cfg.lnEps), w.mlp);
  return { resid: tf.add(m.out, mid), mlpPost: m.post, kv };
}
