// The MLP: out(act(in(x))), or gated down(act(gate(x)) * up(x)) (SwiGLU) with gate and up in one product. What
// enters the output projection is the `mlp_post` tap; the output (bias included) is `mlp_out`.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.js';
import { matMulConst, type Linear } from './linear.js';

/** MLP weights, stored [in, out]. */
export interface MlpWeights {
  /** [dModel, dMlp], or [dModel, 2 dMlp] as [gate | up] when gated */
  wIn: Linear;
  bIn?: tf.Tensor1D;
  /** [dMlp, dModel] */
  wOut: Linear;
  bOut?: tf.Tensor1D;
}

/** gelu(x) = x/2 * (1 + erf(x/sqrt 2)): transformers' "gelu", not the tanh approximation. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** transformers' gelu_new (GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
function geluNew(x: tf.Tensor): tf.Tensor {
  const cube = tf.mul(tf.mul(x, x), x); // torch.pow(x, 3.0) multiplies too (and tf.pow's gradient takes log(x))
  const inner = tf.mul(tf.add(x, tf.mul(cube, 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
}

/** silu(x) = x * sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

const ACTS: Record<ModelConfig['act'], (x: tf.Tensor) => tf.Tensor> = { gelu, gelu_new: geluNew, silu };

/** x: [B, n, dModel] (normed) -> the MLP output [B, n, dModel] and what enters its output projection [B, n, dMlp]. */
export function mlp(x: tf.Tensor3D, w: MlpWeights, cfg: Pick<ModelConfig, 'act' | 'gatedMlp' | 'dMlp'>): { out: tf.Tensor3D; post: tf.Tensor3D } {
  const [B, n, d] = x.shape;
  let h = matMulConst(tf.reshape(x, [B * n, d]), w.wIn); // [B*n, dMlp or 2 dMlp]
  if (w.bIn) h = tf.add(h, w.bIn);
  const act = ACTS[cfg.act];
  let post: tf.Tensor2D;
  if (cfg.gatedMlp) {
    const [gate, up] = tf.split(h, 2, 1);
    post = tf.mul(act(gate!), up!);
  } else {
    post = act(h) as tf.Tensor2D;
  }
  let out = matMulConst(post, w.wOut); // [B*n, d]
  if (w.bOut) out = tf.add(out, w.bOut);
  return { out: tf.reshape(out, [B, n, d]), post: tf.reshape(post, [B, n, cfg.dMlp]) };
}
