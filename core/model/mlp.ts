// GPT-NeoX MLP: dense_h_to_4h, exact (erf) gelu, dense_4h_to_h. The gelu output is the `mlp_post` tap.
import * as tf from '@tensorflow/tfjs-core';
import { matMulConst, type Linear } from './linear.js';

/** MLP weights, stored [in, out]. */
export interface MlpWeights {
  /** [dModel, dMlp] */
  inW: Linear;
  inB: tf.Tensor1D;
  /** [dMlp, dModel] */
  outW: Linear;
  outB: tf.Tensor1D;
}

/** gelu(x) = x/2 * (1 + erf(x/sqrt 2)): transformers' "gelu", not the tanh approximation. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** x: [B, n, dModel] (layer-normed) -> the MLP output [B, n, dModel] and its hidden activation [B, n, dMlp]. */
export function mlp(x: tf.Tensor3D, w: MlpWeights): { out: tf.Tensor3D; post: tf.Tensor3D } {
  const [B, n, d] = x.shape;
  const dMlp = w.inW.w.shape[1];
  const post = gelu(tf.add(matMulConst(tf.reshape(x, [B * n, d]), w.inW), w.inB)) as tf.Tensor2D; // [B*n, dMlp]
  const out = tf.add(matMulConst(post, w.outW), w.outB); // [B*n, d]
  return { out: tf.reshape(out, [B, n, d]), post: tf.reshape(post, [B, n, dMlp]) };
}
