// Objectives as tensors: f per prompt from the taps and last-position logits a forward pass produced.
// Semantics follow dreamy: the residual target standardises with the unbiased std over the hidden dim.
import * as tf from '@tensorflow/tfjs-core';
import type { Objective, SaeObjective } from '../engine.js';
import { tapsOf, validateObjectiveShape } from '../objectives/kinds/index.js';
import { modelShape, type ModelConfig } from './config.js';
import { actName, type Tap } from './taps.js';
import { hiddenLastLogits, type Unembed } from './unembed.js';

/** Checks an objective against the model's shape (each kind's record, core/objectives/kinds/); a mismatch is the caller's mistake. */
export function validateObjective(obj: Objective, cfg: ModelConfig): void {
  validateObjectiveShape(obj, modelShape(cfg));
}

/** The taps an objective reads (the logit objective reads last-position logits instead). */
export function objectiveTaps(obj: Objective): Tap[] {
  return tapsOf(obj);
}

/** (x - mean(x)) / std(x) over the last axis, std unbiased (torch.std's default): x [B, d] -> [B, d]. */
export function standardise(x: tf.Tensor2D): tf.Tensor2D {
  const d = x.shape[1];
  const centred = tf.sub(x, tf.mean(x, -1, true));
  const variance = tf.div(tf.sum(tf.square(centred), -1, true), d - 1);
  return tf.div(centred, tf.sqrt(variance));
}

/**
 * The last position's logits [B, dVocab] from final hidden states [B, n, dModel], for the objective that reads them
 * (logit); undefined for the others, which so skip that unembedding.
 */
export function objectiveLastLogits(obj: Objective, u: Unembed, hidden: tf.Tensor3D): tf.Tensor2D | undefined {
  return obj.kind === 'logit' ? hiddenLastLogits(u, hidden) : undefined;
}

/** f per prompt [B]: taps hold [B, dim] at the last token, lastLogits is [B, dVocab] when the objective needs it. */
export function objectiveValue(obj: Objective, taps: Map<string, tf.Tensor2D>, lastLogits: tf.Tensor2D | undefined): tf.Tensor1D {
  switch (obj.kind) {
    case 'resid': {
      const x = taps.get(actName('resid_pre', obj.layer))!; // [B, d]
      const v = tf.tensor2d(obj.vector, [obj.vector.length, 1]);
      return tf.reshape(tf.matMul(standardise(x), v), [x.shape[0]]);
    }
    case 'neuron': {
      const post = taps.get(actName('mlp_post', obj.layer))!; // [B, dMlp]
      return tf.reshape(tf.slice(post, [0, obj.index], [post.shape[0], 1]), [post.shape[0]]);
    }
    case 'sae':
      return saeValue(obj, taps.get(obj.tap)!);
    case 'logit': {
      const l = lastLogits!; // [B, V]
      const [B, V] = l.shape;
      const target = tf.reshape(tf.slice(l, [0, obj.token], [B, 1]), [B]);
      const penalty = new Float32Array(V);
      penalty[obj.token] = -1e30; // leaves the target out of the max without a boolean mask
      const others = tf.max(tf.add(l, tf.tensor1d(penalty)), -1);
      return tf.sub(target, others);
    }
  }
}

/**
 * An SAE latent's activation from its tap's values x [B, d_in] (core/engine.ts's SaeObjective): normalise, scale,
 * minus bDec, then the latent's encoder and activation. Every comparison is a step (zero gradient), so the one-hot
 * gradient flows through the pre-activation where the latent is active and selected, and is zero elsewhere.
 */
export function saeValue(obj: SaeObjective, x0: tf.Tensor2D): tf.Tensor1D {
  const [B, d] = x0.shape;
  let x = x0;
  if (obj.normalize === 'constant_norm_rescale') {
    // SAELens: x * sqrt(d_in) / ||x||.
    x = tf.mul(x, tf.div(tf.scalar(Math.sqrt(d)), tf.norm(x, 'euclidean', -1, true)));
  } else if (obj.normalize === 'layer_norm') {
    // SAELens: (x - mean) / (std + 1e-5), std unbiased (torch's default).
    const centred = tf.sub(x, tf.mean(x, -1, true));
    const std = tf.sqrt(tf.div(tf.sum(tf.square(centred), -1, true), d - 1));
    x = tf.div(centred, tf.add(std, 1e-5));
  }
  if (obj.bDec) x = tf.sub(x, tf.tensor1d(obj.bDec));
  const a = obj.activation;
  if (a.kind === 'topk') {
    // Every latent's pre-activation; this one's is a column of it, so it compares with itself exactly.
    const all = tf.add(tf.matMul(x, tf.tensor2d(a.wEncAll, [d, a.dSae])), tf.tensor1d(a.bEncAll)); // [B, dSae]
    const pre = tf.slice(all, [0, a.latent], [B, 1]); // [B, 1]
    // Selected: fewer than k latents strictly above it (ties keep it in).
    const above = tf.sum(tf.step(tf.sub(all, pre)), -1); // [B]
    const selected = tf.step(tf.sub(tf.scalar(a.k - 0.5), above));
    return tf.mul(tf.relu(tf.reshape(pre, [B])), selected) as tf.Tensor1D;
  }
  const pre: tf.Tensor1D = tf.add(tf.reshape(tf.matMul(x, tf.tensor2d(obj.wEnc, [d, 1])), [B]), tf.scalar(obj.bEnc));
  if (a.kind === 'relu') return tf.relu(pre);
  return tf.mul(tf.relu(pre), tf.step(tf.sub(pre, tf.scalar(a.threshold)))) as tf.Tensor1D;
}
