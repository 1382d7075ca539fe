// One transformer block: parallel `x + attn(ln1(x)) + mlp(ln2(x))` (Pythia), or serial
// `h = x + attn(ln1(x)); h + mlp(ln2(h))` (every other family); Gemma also norms the attention's and the MLP's
// outputs before they are added (postAttnNorm, postMlpNorm).
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.js';
import { attention, type AttentionContext, type AttentionWeights, type KV } from './attention.js';
import { mlp, type MlpWeights } from './mlp.js';
import { norm, type NormWeights } from './norm.js';

export interface BlockWeights {
  ln1: NormWeights;
  ln2: NormWeights;
  /** Gemma: norms of the attention's and the MLP's outputs (postNorms). */
  postAttnNorm?: NormWeights;
  postMlpNorm?: NormWeights;
  attn: AttentionWeights;
  mlp: MlpWeights;
}

export interface BlockOutput {
  /** The next residual stream [B, n, dModel] (resid_post). */
  resid: tf.Tensor3D;
  /** What enters the MLP's output projection [B, n, dMlp] (mlp_post). */
  mlpPost: tf.Tensor3D;
  /** The MLP's output [B, n, dModel] (mlp_out), after Gemma's post-MLP norm. */
  mlpOut: tf.Tensor3D;
  /** The attention's keys/values, all positions (the past's included). */
  kv: KV;
}

/** x: [B, n, dModel] -> the block's outputs. With `past`, x holds only the positions after it. */
export function block(x: tf.Tensor3D, w: BlockWeights, cfg: ModelConfig, ctx: AttentionContext, past?: KV): BlockOutput {
  const attn = attention(norm(x, w.ln1, cfg), w.attn, cfg, ctx, past);
  const attnOut = w.postAttnNorm ? norm(attn.out, w.postAttnNorm, cfg) : attn.out;
  const runMlp = (input: tf.Tensor3D) => {
    const m = mlp(norm(input, w.ln2, cfg), w.mlp, cfg);
    return { post: m.post, out: w.postMlpNorm ? norm(m.out, w.postMlpNorm, cfg) : m.out };
  };
  if (cfg.parallelAttnMlp) {
    const m = runMlp(x);
    return { resid: tf.add(tf.add(m.out, attnOut), x), mlpPost: m.post, mlpOut: m.out, kv: attn.kv };
  }
  const mid = tf.add(attnOut, x) as tf.Tensor3D;
  const m = runMlp(mid);
  return { resid: tf.add(m.out, mid), mlpPost: m.post, mlpOut: m.out, kv: attn.kv };
}
