// GPT-NeoX causal self-attention with partial rotary embeddings (mirrors transformers' GPTNeoXAttention,
// eager path: rotate_half convention, scores scaled by 1/sqrt(dHead) in float32, additive causal mask).
import * as tf from '@tensorflow/tfjs-core';
import type { NeoXConfig } from './config.js';
import { matMulConst, type Linear } from './linear.js';

/** Attention weights, stored [in, out] so no transpose runs per call. */
export interface AttentionWeights {
  /** [dModel, 3*dModel], columns reordered at load from HF's per-head [H, 3, dHead] to [3, H, dHead]. */
  qkvW: Linear;
  qkvB: tf.Tensor1D;
  /** [dModel, dModel] */
  denseW: Linear;
  denseB: tf.Tensor1D;
}

/** Per-forward constants shared by every layer: rotary cos/sin and the causal mask, all float32. */
export interface AttentionContext {
  /** [n, rotaryDim] */
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  /** [n, n]: 0 where key <= query, a large negative number above the diagonal. */
  mask: tf.Tensor2D;
}

/** Keys (after rotary) and values of a run of positions, [B, H, positions, dHead] each: a prefix to reuse. */
export interface KV {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

/** Rotary tables and causal mask for n positions; built outside any differentiated function. */
export function attentionContext(cfg: NeoXConfig, n: number): AttentionContext {
  const r = cfg.rotaryDim;
  const cos = new Float32Array(n * r);
  const sin = new Float32Array(n * r);
  const half = r / 2;
  for (let i = 0; i < half; i++) {
    // inv_freq = 1 / base^(2i / r), as transformers computes it in float32
    const invFreq = Math.fround(1 / Math.fround(cfg.rotaryBase ** Math.fround((2 * i) / r)));
    for (let p = 0; p < n; p++) {
      const angle = Math.fround(p * invFreq);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      // emb = cat(freqs, freqs)
      cos[p * r + i] = c;
      cos[p * r + i + half] = c;
      sin[p * r + i] = s;
      sin[p * r + i + half] = s;
    }
  }
  const mask = new Float32Array(n * n);
  for (let q = 0; q < n; q++) for (let k = q + 1; k < n; k++) mask[q * n + k] = -1e9;
  return {
    cos: tf.tensor2d(cos, [n, r]),
    sin: tf.tensor2d(sin, [n, r]),
    mask: tf.tensor2d(mask, [n, n]),
  };
}

/** The context of query positions from..n-1 of an n-position context (keys still span 0..n-1). */
export function sliceContext(ctx: AttentionContext, from: number): AttentionContext {
  if (from === 0) return ctx;
  const [n, r] = ctx.cos.shape;
  return {
    cos: tf.slice(ctx.cos, [from, 0], [n - from, r]),
    sin: tf.slice(ctx.sin, [from, 0], [n - from, r]),
    mask: tf.slice(ctx.mask, [from, 0], [n - from, n]),
  };
}

/** rotate_half(x) = cat(-x[..., r/2:], x[..., :r/2]) on the last axis. */
function rotateHalf(x: tf.Tensor4D): tf.Tensor4D {
  const half = x.shape[3] / 2;
  const [x1, x2] = tf.split(x, [half, half], 3);
  return tf.concat([tf.neg(x2!), x1!], 3) as tf.Tensor4D;
}

/** Applies rotary embeddings to the first rotaryDim dims of each head; the rest pass through. */
export function rotary(x: tf.Tensor4D, cfg: NeoXConfig, ctx: AttentionContext): tf.Tensor4D {
  const r = cfg.rotaryDim;
  if (r === 0) return x;
  if (r === cfg.dHead) return tf.add(tf.mul(x, ctx.cos), tf.mul(rotateHalf(x), ctx.sin)) as tf.Tensor4D;
  const [rot, pass] = tf.split(x, [r, cfg.dHead - r], 3) as [tf.Tensor4D, tf.Tensor4D];
  const rotated = tf.add(tf.mul(rot, ctx.cos), tf.mul(rotateHalf(rot), ctx.sin));
  return tf.concat([rotated as tf.Tensor4D, pass], 3) as tf.Tensor4D;
}

/**
 * Self-attention over x: [B, q, dModel] (already layer-normed) -> [B, q, dModel], and its keys/values. With
 * `past`, x holds the positions after the past's p (ctx sliced to them, sliceContext): queries attend to the past
 * keys too, which is how a child reuses its parent's prefix.
 */
export function attention(x: tf.Tensor3D, w: AttentionWeights, cfg: NeoXConfig, ctx: AttentionContext, past?: KV): { out: tf.Tensor3D; kv: KV } {
  const [B, q, d] = x.shape;
  const H = cfg.nHeads;
  const dh = cfg.dHead;
  const qkv = tf.add(matMulConst(tf.reshape(x, [B * q, d]), w.qkvW), w.qkvB); // [B*q, 3d] as [3, H, dh]
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, q, H, dh]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, q, dh]
  const [q0, k0, v0] = tf.split(qkv, 3, 1);
  const query = rotary(heads(q0!), cfg, ctx);
  const kNew = rotary(heads(k0!), cfg, ctx);
  const vNew = heads(v0!);
  const k = past ? (tf.concat([past.k, kNew], 2) as tf.Tensor4D) : kNew; // [B, H, n, dh]
  const v = past ? (tf.concat([past.v, vNew], 2) as tf.Tensor4D) : vNew;
  const n = k.shape[2];
  const scores = tf.matMul(tf.reshape(query, [B * H, q, dh]), tf.reshape(k, [B * H, n, dh]), false, true); // [B*H, q, n]
  const scaled = tf.add(tf.mul(scores, tf.scalar(1 / Math.sqrt(dh))), ctx.mask);
  const probs = tf.softmax(scaled, -1);
  const z = tf.matMul(probs, tf.reshape(v, [B * H, n, dh])); // [B*H, q, dh]
  const merged = tf.reshape(tf.transpose(tf.reshape(z, [B, H, q, dh]), [0, 2, 1, 3]), [B * q, d]); // [B*q, d]
  return { out: tf.reshape(tf.add(matMulConst(merged as tf.Tensor2D, w.denseW), w.denseB), [B, q, d]), kv: { k, v } };
}
