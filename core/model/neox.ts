// The GPT-NeoX forward pass (mirrors transformers' GPTNeoXForCausalLM), with TransformerLens-style taps read at
// the last token: `resid_pre.L` (residual entering block L; L = nLayers is the residual before the final
// layer norm), `mlp_post.L` (gelu output entering block L's MLP output projection) and `logits`.
import * as tf from '@tensorflow/tfjs-core';
import type { NeoXConfig } from './config.js';
import { attentionContext, sliceContext, type KV } from './attention.js';
import { block, layerNorm, type BlockWeights, type LayerNormWeights } from './block.js';
import { UserError } from '../errors.js';
import { matMulConst, type Linear } from './linear.js';
import { unembedLogits, type Unembed } from './unembed.js';

/** All weights as tfjs tensors, matrices stored [in, out]. */
export interface NeoXWeights {
  /** w: [dVocab, dModel] (the lookup table), wT: [dModel, dVocab] */
  embed: Linear;
  blocks: BlockWeights[];
  lnFinal: LayerNormWeights;
  /** W_U [dModel, dVocab] in column slabs (the transposed embedding when tied) */
  unembed: Unembed;
}

export interface NeoXModel {
  cfg: NeoXConfig;
  weights: NeoXWeights;
}

export type TapKind = 'resid_pre' | 'mlp_post' | 'logits';
export interface Tap {
  kind: TapKind;
  /** Block index; absent for logits. */
  layer?: number;
}

/** A tap's name from its parts: actName('resid_pre', 3) === 'resid_pre.3'. */
export function actName(kind: TapKind, layer?: number): string {
  return kind === 'logits' ? 'logits' : `${kind}.${layer}`;
}

/** Every tap this model has, in forward order. */
export function tapNames(cfg: Pick<NeoXConfig, 'nLayers'>): string[] {
  const names: string[] = [];
  for (let l = 0; l <= cfg.nLayers; l++) names.push(actName('resid_pre', l));
  for (let l = 0; l < cfg.nLayers; l++) names.push(actName('mlp_post', l));
  names.push('logits');
  return names;
}

/** Parses a tap name, or throws a UserError listing the valid names. */
export function parseTap(name: string, cfg: NeoXConfig): Tap {
  const m = /^(resid_pre|mlp_post)\.(\d+)$/.exec(name);
  if (name === 'logits') return { kind: 'logits' };
  if (m) {
    const layer = Number(m[2]);
    const kind = m[1] as TapKind;
    if (layer <= (kind === 'resid_pre' ? cfg.nLayers : cfg.nLayers - 1)) return { kind, layer };
  }
  throw new UserError(
    'E_TAP_UNKNOWN',
    `tap "${name}" does not exist in this ${cfg.nLayers}-layer model; valid taps: resid_pre.0 .. resid_pre.${cfg.nLayers}, ` + `mlp_post.0 .. mlp_post.${cfg.nLayers - 1}, logits`,
  );
}

/** Width of a tap's values at one token. */
export function tapDim(tap: Tap, cfg: NeoXConfig): number {
  return tap.kind === 'resid_pre' ? cfg.dModel : tap.kind === 'mlp_post' ? cfg.dMlp : cfg.dVocab;
}

/** Token ids [B, n] -> embeddings [B, n, dModel] by lookup (no gradient needed). */
export function embedIds(model: NeoXModel, ids: tf.Tensor2D): tf.Tensor3D {
  return tf.gather(model.weights.embed.w, ids) as unknown as tf.Tensor3D;
}

/**
 * One-hot tokens [B, n, dVocab] -> embeddings [B, n, dModel], differentiable in the one-hot (EPO's gradient). `ids`
 * are the one-hot's tokens: the value is then a row lookup (exactly one_hot @ W_E, without its 2*B*n*dVocab*dModel
 * FLOPs), and the gradient is dy @ W_E^T as for the product.
 */
export function embedOneHot(model: NeoXModel, oneHot: tf.Tensor3D, ids?: tf.Tensor2D): tf.Tensor3D {
  const [B, n, V] = oneHot.shape;
  const d = model.cfg.dModel;
  if (!ids) return tf.reshape(matMulConst(tf.reshape(oneHot, [B * n, V]), model.weights.embed), [B, n, d]);
  const embed = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => {
    void x;
    return {
      value: tf.reshape(tf.gather(model.weights.embed.w, tf.reshape(ids, [B * n])), [B, n, d]),
      gradFunc: (dy: tf.Tensor) => tf.reshape(tf.matMul(tf.reshape(dy, [B * n, d]), model.weights.embed.wT), [B, n, V]),
    };
  });
  return embed(oneHot) as tf.Tensor3D;
}

export interface ForwardRequest {
  /** resid_pre / mlp_post taps to read at the last token. */
  taps: Tap[];
  /**
   * `all` for cross-entropy, `last` for the last position only, `none` to stop after the last tapped block,
   * `hidden` for the final layer norm's output at every position instead of logits (unembed.ts takes it from there).
   */
  logits: 'none' | 'last' | 'all' | 'hidden';
  /** Keys/values of positions 0..p-1 per block ([B, H, p, dHead]): x then holds positions p..n-1 only. */
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

/** Runs the model on embeddings x: [B, n, dModel]; call inside tf.tidy. */
export function forward(model: NeoXModel, x: tf.Tensor3D, req: ForwardRequest): ForwardResult {
  const { cfg, weights } = model;
  const [B, n, d] = x.shape;
  const lastToken = (t: tf.Tensor3D) => tf.reshape(tf.slice(t, [0, n - 1, 0], [B, 1, t.shape[2]]), [B, t.shape[2]]) as tf.Tensor2D;
  const want = new Set(req.taps.map((t) => actName(t.kind, t.layer)));
  // Blocks needed: all for logits, else up to the deepest tap (resid_pre.L needs blocks < L; mlp_post.L needs L).
  let nBlocks = cfg.nLayers;
  if (req.logits === 'none') {
    nBlocks = 0;
    for (const t of req.taps) nBlocks = Math.max(nBlocks, t.kind === 'mlp_post' ? t.layer! + 1 : t.layer!);
  }
  const p = req.past?.[0]?.k.shape[2] ?? 0; // positions before x's first
  const ctx = sliceContext(attentionContext(cfg, p + n), p);
  const taps = new Map<string, tf.Tensor2D>();
  const kv: KV[] = [];
  let resid = x; // [B, n, d]
  for (let l = 0; l < nBlocks; l++) {
    if (want.has(actName('resid_pre', l))) taps.set(actName('resid_pre', l), lastToken(resid));
    const out = block(resid, weights.blocks[l]!, cfg, ctx, req.past?.[l]);
    if (want.has(actName('mlp_post', l))) taps.set(actName('mlp_post', l), lastToken(out.mlpPost));
    if (req.keepKV) kv.push(out.kv);
    resid = out.resid;
  }
  if (want.has(actName('resid_pre', nBlocks))) taps.set(actName('resid_pre', nBlocks), lastToken(resid));
  const kept = req.keepKV ? { kv } : {};
  if (req.logits === 'none') return { taps, ...kept };

  const finalIn = req.logits === 'last' ? tf.reshape(lastToken(resid), [B, 1, d]) : resid;
  const normed = layerNorm(finalIn as tf.Tensor3D, weights.lnFinal, cfg.lnEps); // [B, n or 1, d]
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
export function nextTokenCE(logits: tf.Tensor3D, targets: tf.Tensor2D | tf.Tensor3D): tf.Tensor2D {
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
export function pickedNll(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
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
