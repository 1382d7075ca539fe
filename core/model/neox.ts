// The GPT-NeoX forward pass (mirrors transformers' GPTNeoXForCausalLM), with TransformerLens-style taps read at
// the last token: `resid_pre.L` (residual entering block L; L = nLayers is the residual before the final
// layer norm), `mlp_post.L` (gelu output entering block L's MLP output projection) and `logits`.
import * as tf from '@tensorflow/tfjs-core';
import type { NeoXConfig } from './config.js';
import { attentionContext } from './attention.js';
import { block, layerNorm, type BlockWeights, type LayerNormWeights } from './block.js';
import { UserError } from '../errors.js';
import { matMulConst, type Linear } from './linear.js';

/** All weights as tfjs tensors, matrices stored [in, out]. */
export interface NeoXWeights {
  /** w: [dVocab, dModel] (the lookup table), wT: [dModel, dVocab] */
  embed: Linear;
  blocks: BlockWeights[];
  lnFinal: LayerNormWeights;
  /** w: [dModel, dVocab] (the transposed embedding when tied) */
  unembed: Linear;
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
    `tap "${name}" does not exist in this ${cfg.nLayers}-layer model; valid taps: resid_pre.0 .. resid_pre.${cfg.nLayers}, ` +
      `mlp_post.0 .. mlp_post.${cfg.nLayers - 1}, logits`,
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

/** One-hot tokens [B, n, dVocab] -> embeddings [B, n, dModel]: differentiable in the one-hot (EPO's gradient). */
export function embedOneHot(model: NeoXModel, oneHot: tf.Tensor3D): tf.Tensor3D {
  const [B, n, V] = oneHot.shape;
  const e = matMulConst(tf.reshape(oneHot, [B * n, V]), model.weights.embed); // [B*n, d]
  return tf.reshape(e, [B, n, model.cfg.dModel]);
}

export interface ForwardRequest {
  /** resid_pre / mlp_post taps to read at the last token. */
  taps: Tap[];
  /** `all` for cross-entropy, `last` for the last position only, `none` to stop after the last tapped block. */
  logits: 'none' | 'last' | 'all';
}

export interface ForwardResult {
  /** Tap name -> [B, dim] at the last token. */
  taps: Map<string, tf.Tensor2D>;
  /** [B, n, dVocab] for `all`, [B, dVocab] for `last`. */
  logits?: tf.Tensor;
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
  const ctx = attentionContext(cfg, n);
  const taps = new Map<string, tf.Tensor2D>();
  let resid = x; // [B, n, d]
  for (let l = 0; l < nBlocks; l++) {
    if (want.has(actName('resid_pre', l))) taps.set(actName('resid_pre', l), lastToken(resid));
    const out = block(resid, weights.blocks[l]!, cfg, ctx);
    if (want.has(actName('mlp_post', l))) taps.set(actName('mlp_post', l), lastToken(out.mlpPost));
    resid = out.resid;
  }
  if (want.has(actName('resid_pre', nBlocks))) taps.set(actName('resid_pre', nBlocks), lastToken(resid));
  if (req.logits === 'none') return { taps };

  const finalIn = req.logits === 'last' ? tf.reshape(lastToken(resid), [B, 1, d]) : resid;
  const normed = layerNorm(finalIn as tf.Tensor3D, weights.lnFinal, cfg.lnEps); // [B, n or 1, d]
  const rows = normed.shape[1];
  const logits = matMulConst(tf.reshape(normed, [B * rows, d]), weights.unembed); // [B*rows, V]
  return {
    taps,
    logits: req.logits === 'last' ? logits : tf.reshape(logits, [B, n, cfg.dVocab]),
  };
}

/** Next-token cross-entropy at positions 1..n-1: logits [B, n, V], ids [B, n] -> [B, n-1] (n >= 2). */
export function nextTokenCE(logits: tf.Tensor3D, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, n, V] = logits.shape;
  const pred = tf.slice(logits, [0, 0, 0], [B, n - 1, V]); // positions 0..n-2 predict 1..n-1
  const targets = tf.oneHot(tf.slice(ids, [0, 1], [B, n - 1]), V); // [B, n-1, V], constant (no gradient)
  const logp = tf.logSoftmax(pred, -1);
  return tf.neg(tf.sum(tf.mul(logp, targets), -1)) as tf.Tensor2D;
}

/** Mean next-token cross-entropy over positions 1..n-1 per prompt: logits [B, n, V], ids [B, n] -> [B]. */
export function meanNextTokenCE(logits: tf.Tensor3D, ids: tf.Tensor2D): tf.Tensor1D {
  const [B, n] = logits.shape;
  if (n < 2) return tf.fill([B], NaN) as tf.Tensor1D; // no next token to predict
  return tf.mean(nextTokenCE(logits, ids), -1) as tf.Tensor1D;
}

/** Logits at the last position [B, V] from full logits [B, n, V]. */
export function lastLogits(logits: tf.Tensor3D): tf.Tensor2D {
  const [B, n, V] = logits.shape;
  return tf.reshape(tf.slice(logits, [0, n - 1, 0], [B, 1, V]), [B, V]);
}
