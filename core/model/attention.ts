// Causal self-attention for every family (mirrors transformers' eager attention): one fused QKV product, optional
// per-head q/k RMSNorm (Qwen 3, Gemma 3), rotary embeddings (or none: learned positions), grouped-query attention
// (key/value head j serves query heads j*g .. j*g+g-1, g = nHeads / nKvHeads, as repeat_kv), scores scaled by
// 1/sqrt(dHead) (or the config's attnScale) in float32, soft-capped (Gemma 2), additive causal mask (on sliding
// layers, a window of the last slidingWindow keys).
import * as tf from '@tensorflow/tfjs-core';
import type { LayerType, ModelConfig } from './config.js';
import { matMulConst, type Linear } from './linear.js';
import { rmsNorm } from './norm.js';
import { rotary, rotaryTables } from './rotary.js';

/** Attention weights, stored [in, out] so no transpose runs per call. */
export interface AttentionWeights {
  /** [dModel, (nHeads + 2 nKvHeads) dHead]: query heads | key heads | value heads. */
  wQKV: Linear;
  bQKV?: tf.Tensor1D;
  /** [nHeads dHead, dModel] */
  wO: Linear;
  bO?: tf.Tensor1D;
  /** [dHead] RMSNorm weights of each query and key head (qkNorm). */
  qNorm?: tf.Tensor1D;
  kNorm?: tf.Tensor1D;
}

/** Per-forward constants shared by the layers of one kind: rotary cos/sin (absent without rotary) and the mask. */
export interface AttentionContext {
  /** [n, rotaryDim] */
  cos?: tf.Tensor2D;
  sin?: tf.Tensor2D;
  /** [n, n]: 0 where key j is visible from query i (j <= i, and i - W < j on sliding layers), else a large negative number. */
  mask: tf.Tensor2D;
}

/** Keys (after rotary) and values of a run of positions, [B, nKvHeads, positions, dHead] each: a prefix to reuse. */
export interface KV {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

/**
 * Rotary tables and mask for n positions (absolute: 0..n-1) on layers of `type`; built outside any differentiated
 * function. Sliding layers see the last slidingWindow keys, and rotate by localRotaryBase (unscaled) when given.
 */
export function attentionContext(
  cfg: Pick<ModelConfig, 'rotaryDim' | 'rotaryBase' | 'ropeScaling' | 'slidingWindow' | 'localRotaryBase'>,
  n: number,
  type: LayerType = 'full',
): AttentionContext {
  const sliding = type === 'sliding';
  const window = sliding && cfg.slidingWindow !== undefined ? cfg.slidingWindow : Infinity;
  const mask = new Float32Array(n * n);
  for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) if (k > q || k <= q - window) mask[q * n + k] = -1e9;
  const rope = sliding && cfg.localRotaryBase !== undefined ? { rotaryDim: cfg.rotaryDim, rotaryBase: cfg.localRotaryBase } : cfg;
  return { ...(cfg.rotaryDim > 0 ? rotaryTables(rope, n) : {}), mask: tf.tensor2d(mask, [n, n]) };
}

/** The context of query positions from..n-1 of an n-position context (keys still span 0..n-1). */
export function sliceContext(ctx: AttentionContext, from: number): AttentionContext {
  if (from === 0) return ctx;
  const n = ctx.mask.shape[0];
  const rows = (t: tf.Tensor2D) => tf.slice(t, [from, 0], [n - from, t.shape[1]]);
  return { ...(ctx.cos && ctx.sin ? { cos: rows(ctx.cos), sin: rows(ctx.sin) } : {}), mask: rows(ctx.mask) };
}

/**
 * Self-attention over x: [B, q, dModel] (already normed) -> [B, q, dModel], and its keys/values. With `past`,
 * x holds the positions after the past's p (ctx sliced to them, sliceContext): queries attend to the past keys
 * too, which is how a child reuses its parent's prefix.
 */
export function attention(x: tf.Tensor3D, w: AttentionWeights, cfg: ModelConfig, ctx: AttentionContext, past?: KV): { out: tf.Tensor3D; kv: KV } {
  const [B, q, d] = x.shape;
  const { nHeads: H, nKvHeads: Hkv, dHead: dh } = cfg;
  const g = H / Hkv;
  let qkv = matMulConst(tf.reshape(x, [B * q, d]), w.wQKV); // [B*q, (H + 2 Hkv) dh]
  if (w.bQKV) qkv = tf.add(qkv, w.bQKV);
  const heads = (t: tf.Tensor, h: number, normW?: tf.Tensor1D) => {
    const split = tf.reshape(t, [B, q, h, dh]);
    return tf.transpose(normW ? rmsNorm(split, normW, cfg.eps) : split, [0, 2, 1, 3]) as tf.Tensor4D; // [B, h, q, dh]
  };
  const [q0, k0, v0] = tf.split(qkv, [H * dh, Hkv * dh, Hkv * dh], 1);
  const query = rotary(heads(q0!, H, w.qNorm), cfg, ctx);
  const kNew = rotary(heads(k0!, Hkv, w.kNorm), cfg, ctx);
  const vNew = heads(v0!, Hkv);
  const k = past ? (tf.concat([past.k, kNew], 2) as tf.Tensor4D) : kNew; // [B, Hkv, n, dh]
  const v = past ? (tf.concat([past.v, vNew], 2) as tf.Tensor4D) : vNew;
  const n = k.shape[2];
  // A key/value head's g query heads are adjacent: [B, H, q, dh] is [B*Hkv, g*q, dh], no copies of k and v.
  const scores = tf.matMul(tf.reshape(query, [B * Hkv, g * q, dh]), tf.reshape(k, [B * Hkv, n, dh]), false, true);
  let scaled = tf.mul(tf.reshape(scores, [B * H, q, n]), tf.scalar(cfg.attnScale ?? 1 / Math.sqrt(dh)));
  if (cfg.attnSoftcap !== undefined) scaled = softcap(scaled, cfg.attnSoftcap);
  scaled = tf.add(scaled, ctx.mask);
  const probs = tf.reshape(tf.softmax(scaled, -1), [B * Hkv, g * q, n]);
  const z = tf.matMul(probs, tf.reshape(v, [B * Hkv, n, dh])); // [B*Hkv, g*q, dh] = [B, H, q, dh]
  const merged = tf.reshape(tf.transpose(tf.reshape(z, [B, H, q, dh]), [0, 2, 1, 3]), [B * q, H * dh]) as tf.Tensor2D;
  let out = matMulConst(merged, w.wO); // [B*q, d]
  if (w.bO) out = tf.add(out, w.bO);
  return { out: tf.reshape(out, [B, q, d]), kv: { k, v } };
}

/**
 * tanh(x / c) * c: Gemma's soft-capping of attention scores and logits. Its gradient, dy * (1 - (y / c)^2), needs
 * the output alone: for [rows, dVocab] logits the backward pass keeps one such array, not three.
 */
export function softcap<T extends tf.Tensor>(x: T, c: number): T {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const y = tf.mul(tf.tanh(tf.div(input, c)), c);
    save([y]);
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.sub(1, tf.square(tf.div(saved[0]!, c)))) };
  });
  return f(x) as T;
}
