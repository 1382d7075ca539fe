// One transformer block: parallel `x + attn(ln1(x)) + mlp(ln2(x))` (Pythia), or serial
// `h = x + attn(ln1(x)); h + mlp(ln2(h))` (every other family).
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.js';
import { attention, type AttentionContext, type AttentionWeights, type KV } from './attention.js';
import { mlp, type MlpWeights } from './mlp.js';
import { norm, type NormWeights } from './norm.js';

export interface BlockWeights {
  ln1: NormWeights;
  ln2: NormWeights;
  attn: AttentionWeights;
  mlp: MlpWeights;
}

export interface BlockOutput {
  /** The next residual stream [B, n, dModel] (resid_post). */
  resid: tf.Tensor3D;
  /** What enters the MLP's output projection [B, n, dMlp] (mlp_post). */
  mlpPost: tf.Tensor3D;
  /** The MLP's output [B, n, dModel] (mlp_out). */
  mlpOut: tf.Tensor3D;
  /** The attention's keys/values, all positions (the past's included). */
  kv: KV;
}

/** x: [B, n, dModel] -> the block's outputs. With `past`, x holds only the positions after it. */
export function block(x: tf.Tensor3D, w: BlockWeights, cfg: ModelConfig, ctx: AttentionContext, past?: KV): BlockOutput {
  const { out: attnOut, kv } = attention(norm(x, w.ln1, cfg), w.attn, cfg, ctx, past);
  if (cfg.parallelAttnMlp) {
    const m = mlp(norm(x, w.ln2, cfg), w.mlp, cfg);
    return { resid: tf.add(tf.add(m.out, attnOut), x), mlpPost: m.post, mlpOut: m.out, kv };
  }
  const mid = tf.add(attnOut, x) as tf.Tensor3D;
  const m = mlp(norm(mid, w.ln2, cfg), w.mlp, cfg);
  return { resid: tf.add(m.out, mid), mlpPost: m.post, mlpOut: m.out, kv };
}
