// The forward pass of every family (families/ map their checkpoints onto these weights): embeddings, learned
// positions (GPT-2) or rotary ones (in attention), blocks, the final norm and the unembedding (soft-capped for Gemma 2), with the taps of
// taps.ts read at the last token. Also the next-token cross-entropy the engines differentiate.
import * as tf from '@tensorflow/tfjs-core';
import { layerType, type LayerType, type ModelConfig } from './config.js';
import { attentionContext, sliceContext, type AttentionContext, type KV } from './attention.js';
import { block, type BlockWeights } from './block.js';
import { matMulConst, type Linear } from './linear.js';
import { norm, type NormWeights } from './norm.js';
import { actName, blocksFor, type Tap } from './taps.js';
import { unembedLogits, type Unembed } from './unembed.js';

/** All weights as tfjs tensors, matrices stored [in, out]. */
export interface Weights {
  /** W_E: w [dVocab, dModel] (the lookup table), wT [dModel, dVocab] */
  embed: Linear;
  /** W_pos [nCtx, dModel] (learned positions) */
  pos?: tf.Tensor2D;
  blocks: BlockWeights[];
  lnFinal: NormWeights;
  /** W_U [dModel, dVocab] in column slabs (the transposed embedding when tied) */
  unembed: Unembed;
}

export interface Model {
  cfg: ModelConfig;
  weights: Weights;
}

/** Token ids [B, n] -> embeddings [B, n, dModel] by lookup (no gradient needed). */
export function embedIds(model: Model, ids: tf.Tensor2D): tf.Tensor3D {
  return scaleEmbedding(model, tf.gather(model.weights.embed.w, ids) as unknown as tf.Tensor3D);
}

/**
 * Gemma's embeddings times sqrt(dModel), that factor rounded to float32 as transformers rounds it to the compute
 * dtype; the one-hot gradient passes through the same product.
 */
function scaleEmbedding(model: Model, x: tf.Tensor3D): tf.Tensor3D {
  return model.cfg.embedScale ? tf.mul(x, tf.scalar(Math.fround(Math.sqrt(model.cfg.dModel)))) : x;
}

/**
 * One-hot tokens [B, n, dVocab] -> embeddings [B, n, dModel], differentiable in the one-hot (EPO's gradient). `ids`
 * are the one-hot's tokens: the value is then a row lookup (exactly one_hot @ W_E, without its 2*B*n*dVocab*dModel
 * FLOPs), and the gradient is dy @ W_E^T as for the product.
 */
export function embedOneHot(model: Model, oneHot: tf.Tensor3D, ids?: tf.Tensor2D): tf.Tensor3D {
  const [B, n, V] = oneHot.shape;
  const d = model.cfg.dModel;
  if (!ids) return scaleEmbedding(model, tf.reshape(matMulConst(tf.reshape(oneHot, [B * n, V]), model.weights.embed), [B, n, d]));
  const embed = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => {
    void x;
    return {
      value: tf.reshape(tf.gather(model.weights.embed.w, tf.reshape(ids, [B * n])), [B, n, d]),
      gradFunc: (dy: tf.Tensor) => tf.reshape(tf.matMul(tf.reshape(dy, [B * n, d]), model.weights.embed.wT), [B, n, V]),
    };
  });
  return scaleEmbedding(model, embed(oneHot) as tf.Tensor3D);
}

export interface ForwardRequest {
  /** Taps other than logits to read at the last token. */
  taps: Tap[];
  /**
   * `all` for cross-entropy, `last` for the last position only, `none` to stop after the last tapped block,
   * `hidden` for the final layer norm's output at every position instead of logits (unembed.ts takes it from there).
   */
  logits: 'none' | 'last' | 'all' | 'hidden';
  /** Keys/values of positions 0..p-1 per block ([B, nKvHeads, p, dHead]): x then holds positions p..n-1 only. */
  past?: KV[];
  /** Return every block's keys/values (for reuse by prompts that share this one's prefix). */
  keepKV?: boolean;
}

export interface ForwardResult {
  /** Tap name -> [B, dim] at the last token. */
  taps: Map<string, tf.Tensor2D>;
  /** [B, n, dVocab] for `all` (n: the positions x holds), [B, dVocab] for `last`. */
  logits?: tf.Tensor;
  /** [B, n, dModel] for `hidden`. */
  hidden?: tf.Tensor3D;
  /** Per block, with `keepKV`. */
  kv?: KV[];
}

/**
 * Runs the model on token embeddings x: [B, n, dModel] at positions p..p+n-1 (p: the past's length, 0 without
 * one); call inside tf.tidy.
 */
export function forward(model: Model, x: tf.Tensor3D, req: ForwardRequest): ForwardResult {
  const { cfg, weights } = model;
  const [B, n, d] = x.shape;
  const lastToken = (t: tf.Tensor3D) => tf.reshape(tf.slice(t, [0, n - 1, 0], [B, 1, t.shape[2]]), [B, t.shape[2]]) as tf.Tensor2D;
  const want = new Set(req.taps.map((t) => actName(t.kind, t.layer)));
  const taps = new Map<string, tf.Tensor2D>();
  const read = (kind: Tap['kind'], layer: number, t: tf.Tensor3D) => {
    const name = actName(kind, layer);
    if (want.has(name)) taps.set(name, lastToken(t));
  };
  const nBlocks = req.logits === 'none' ? Math.max(0, ...req.taps.map((t) => blocksFor(t, cfg.nLayers))) : cfg.nLayers;
  const p = req.past?.[0]?.k.shape[2] ?? 0; // positions before x's first
  // One context per layer kind (full, sliding), over absolute positions 0..p+n-1, its rows p.. for x's positions.
  const contexts = new Map<LayerType, AttentionContext>();
  const ctxFor = (l: number) => {
    const type = layerType(cfg, l);
    let ctx = contexts.get(type);
    if (!ctx) contexts.set(type, (ctx = sliceContext(attentionContext(cfg, p + n, type), p)));
    return ctx;
  };
  const kv: KV[] = [];
  let resid = weights.pos ? (tf.add(x, tf.slice(weights.pos, [p, 0], [n, d])) as tf.Tensor3D) : x; // [B, n, d]
  for (let l = 0; l < nBlocks; l++) {
    read('resid_pre', l, resid);
    const out = block(resid, weights.blocks[l]!, cfg, ctxFor(l), req.past?.[l]);
    read('mlp_post', l, out.mlpPost);
    read('mlp_out', l, out.mlpOut);
    read('resid_post', l, out.resid);
    if (req.keepKV) kv.push(out.kv);
    resid = out.resid;
  }
  read('resid_pre', nBlocks, resid);
  const kept = req.keepKV ? { kv } : {};
  if (req.logits === 'none') return { taps, ...kept };

  const finalIn = req.logits === 'last' ? (tf.reshape(lastToken(resid), [B, 1, d]) as tf.Tensor3D) : resid;
  const normed = norm(finalIn, weights.lnFinal, cfg); // [B, n or 1, d]
  if (req.logits === 'hidden') return { taps, hidden: normed, ...kept };
  const rows = normed.shape[1];
  const logits = unembedLogits(weights.unembed, tf.reshape(normed, [B * rows, d])); // [B*rows, V]
  return {
    taps,
    logits: req.logits === 'last' ? logits : tf.reshape(logits, [B, n, cfg.dVocab]),
    ...kept,
  };
}

/**
 * Next-token cross-entropy at positions 1..n-1 (n >= 2): logits [B, n, V] -> [B, n-1]. The targets are token ids
 * [B, n] (constant), or the prompt's one-hot [B, n, V], through which the CE is then differentiable: EPO's gradient
 * needs that term, as the paper's code takes it (core/engine.ts, GradientResult).
 */
function nextTokenCE(logits: tf.Tensor3D, targets: tf.Tensor2D | tf.Tensor3D): tf.Tensor2D {
  const [B, n, V] = logits.shape;
  const pred = tf.slice(logits, [0, 0, 0], [B, n - 1, V]); // positions 0..n-2 predict 1..n-1
  if (targets.rank === 2) return pickedNll(pred, tf.slice(targets as tf.Tensor2D, [0, 1], [B, n - 1]));
  const next = tf.slice(targets as tf.Tensor3D, [0, 1, 0], [B, n - 1, V]); // [B, n-1, V]
  return tf.neg(tf.sum(tf.mul(tf.logSoftmax(pred, -1), next), -1)) as tf.Tensor2D;
}

/**
 * -log_softmax(logits)[target] at every position: logits [B, m, V], targets [B, m] ids -> [B, m]. As logsumexp
 * minus the picked logit, so no [B, m, V] one-hot or product is ever held.
 */
function pickedNll(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const [B, m, V] = logits.shape;
  const lse = tf.reshape(tf.logSumExp(tf.reshape(logits, [B * m, V]), -1), [B, m]);
  return tf.sub(lse, pick(logits, targets));
}

/**
 * values[b, i, targets[b, i]]: values [B, m, V], targets [B, m] ids -> [B, m]. Differentiable in `values` (its
 * gradient is the targets' one-hot times dy; wasm has no kernel for gather's own gradient).
 */
export function pick(values: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const [B, m, V] = values.shape;
  const rows = B * m;
  const picked = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, t, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([t]); // kept for the backward pass, which may run after the caller's scope
    const flatIndex = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(V, 'int32')), tf.reshape(t, [rows]));
    return {
      value: tf.reshape(tf.gather(tf.reshape(x, [rows * V]), flatIndex), [B, m]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(tf.oneHot(saved[0] as tf.Tensor2D, V), tf.expandDims(dy, -1)), tf.zerosLike(saved[0]!)],
    };
  });
  return picked(values, targets) as tf.Tensor2D;
}

/** Mean next-token cross-entropy over positions 1..n-1 per prompt (targets as in nextTokenCE) -> [B]. */
export function meanNextTokenCE(logits: tf.Tensor3D, targets: tf.Tensor2D | tf.Tensor3D): tf.Tensor1D {
  const [B, n] = logits.shape;
  if (n < 2) return tf.fill([B], NaN) as tf.Tensor1D; // no next token to predict
  return tf.mean(nextTokenCE(logits, targets), -1) as tf.Tensor1D;
}

/** Logits at the last position [B, V] from full logits [B, n, V]. */
export function lastLogits(logits: tf.Tensor3D): tf.Tensor2D {
  const [B, n, V] = logits.shape;
  return tf.reshape(tf.slice(logits, [0, n - 1, 0], [B, 1, V]), [B, V]);
}
