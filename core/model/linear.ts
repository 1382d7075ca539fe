// A constant weight matrix kept in both orientations, and the product x @ W whose gradient flows to x only.
// Why: on the wasm backend a matMul with transposeB (what tfjs's own matMul gradient runs) is ~10x slower
// than a plain one (measured: [96, 50304] x [50304, 512]^T 2.2 s vs 0.25 s), so the backward pass uses W^T.
import * as tf from '@tensorflow/tfjs-core';

export interface Linear {
  /** [in, out] */
  w: tf.Tensor2D;
  /** [out, in] */
  wT: tf.Tensor2D;
}

/** A Linear from an [in, out] matrix (the transpose is made once, here). */
export function linearFrom(w: tf.Tensor2D): Linear {
  return { w, wT: tf.transpose(w) };
}

/** x: [rows, in] -> [rows, out]; d/dx = dy @ W^T through the stored transpose; no gradient to W. */
export function matMulConst(x: tf.Tensor2D, lin: Linear): tf.Tensor2D {
  const f = tf.customGrad((input: tf.Tensor | tf.GradSaveFunc) => ({
    value: tf.matMul(input as tf.Tensor2D, lin.w),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, lin.wT),
  }));
  return f(x) as tf.Tensor2D;
}
