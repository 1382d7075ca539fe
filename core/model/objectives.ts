// Objectives as tensors: f per prompt from the taps and last-position logits a forward pass produced.
// Semantics follow dreamy: the residual target standardises with the unbiased std over the hidden dim.
import * as tf from '@tensorflow/tfjs-core';
import type { Objective } from '../engine.js';
import { UserError } from '../errors.js';
import type { ModelConfig } from './config.js';
import { actName, type Tap } from './taps.js';
import { hiddenLastLogits, type Unembed } from './unembed.js';

/** Checks an objective against the model's shape; a mismatch is the caller's mistake. */
export function validateObjective(obj: Objective, cfg: ModelConfig): void {
  const bad = (msg: string) => new UserError('E_OBJECTIVE', `objective ${obj.kind}: ${msg}`);
  switch (obj.kind) {
    case 'resid':
      if (!Number.isInteger(obj.layer) || obj.layer < 0 || obj.layer > cfg.nLayers) throw bad(`layer: expected an integer in 0..${cfg.nLayers}, got ${obj.layer}`);
      if (obj.vector.length !== cfg.dModel) throw bad(`vector: expected length ${cfg.dModel} (d_model), got ${obj.vector.length}`);
      return;
    case 'neuron':
      if (!Number.isInteger(obj.layer) || obj.layer < 0 || obj.layer >= cfg.nLayers) throw bad(`layer: expected an integer in 0..${cfg.nLayers - 1}, got ${obj.layer}`);
      if (!Number.isInteger(obj.index) || obj.index < 0 || obj.index >= cfg.dMlp) throw bad(`index: expected an integer in 0..${cfg.dMlp - 1}, got ${obj.index}`);
      return;
    case 'logit':
      if (!Number.isInteger(obj.token) || obj.token < 0 || obj.token >= cfg.dVocab) throw bad(`token: expected an id in 0..${cfg.dVocab - 1}, got ${obj.token}`);
      return;
  }
}

/** The taps an objective reads (the logit objective reads last-position logits instead). */
export function objectiveTaps(obj: Objective): Tap[] {
  if (obj.kind === 'resid') return [{ kind: 'resid_pre', layer: obj.layer }];
  if (obj.kind === 'neuron') return [{ kind: 'mlp_post', layer: obj.layer }];
  return [];
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
