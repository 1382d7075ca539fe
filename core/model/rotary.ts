// Rotary position embeddings, rotate_half convention (GPT-NeoX, Llama and kin): the first rotaryDim dims of each
// head rotate, the rest pass through. Inverse frequencies as transformers computes them in float32, with Llama 3's
// frequency scaling (_compute_llama3_parameters) or linear scaling (Gemma 3's full-attention layers).
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.js';

const f = Math.fround;

/** inv_freq [rotaryDim / 2], float32 step by step as torch does it. */
export function inverseFrequencies(cfg: Pick<ModelConfig, 'rotaryDim' | 'rotaryBase' | 'ropeScaling'>): Float32Array {
  const r = cfg.rotaryDim;
  const inv = new Float32Array(r / 2);
  // 1 / base^(2i / r); torch's `1.0 / t` is reciprocal(t) * 1.
  for (let i = 0; i < r / 2; i++) inv[i] = f(1 / f(cfg.rotaryBase ** f((2 * i) / r)));
  const s = cfg.ropeScaling;
  if (!s) return inv;
  if (s.type === 'linear') {
    // transformers: inv_freq /= factor (float32).
    for (let i = 0; i < inv.length; i++) inv[i] = f(inv[i]! / f(s.factor));
    return inv;
  }
  // Wavelengths below high_freq_wavelen keep their frequency, above low_freq_wavelen divide it by factor, and in
  // between interpolate. torch's `scalar / t` is reciprocal(t) * scalar; scalars meet float32 tensors as float32.
  const lowWavelen = f(s.originalMaxPositions / s.lowFreqFactor);
  const highWavelen = f(s.originalMaxPositions / s.highFreqFactor);
  const factor = f(s.factor);
  for (let i = 0; i < inv.length; i++) {
    const freq = inv[i]!;
    const wavelen = f(f(1 / freq) * f(2 * Math.PI));
    const scaled = wavelen > lowWavelen ? f(freq / factor) : freq;
    if (wavelen < highWavelen || wavelen > lowWavelen) {
      inv[i] = scaled;
      continue;
    }
    const smooth = f(f(f(f(1 / wavelen) * f(s.originalMaxPositions)) - f(s.lowFreqFactor)) / f(s.highFreqFactor - s.lowFreqFactor));
    inv[i] = f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
  }
  return inv;
}

/** cos and sin tables [n, rotaryDim]: angle p * inv_freq (float32), emb = cat(freqs, freqs). */
export function rotaryTables(cfg: Pick<ModelConfig, 'rotaryDim' | 'rotaryBase' | 'ropeScaling'>, n: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const r = cfg.rotaryDim;
  const half = r / 2;
  const inv = inverseFrequencies(cfg);
  const cos = new Float32Array(n * r);
  const sin = new Float32Array(n * r);
  for (let i = 0; i < half; i++) {
    for (let p = 0; p < n; p++) {
      const angle = f(p * inv[i]!);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * r + i] = c;
      cos[p * r + i + half] = c;
      sin[p * r + i] = s;
      sin[p * r + i + half] = s;
    }
  }
  return { cos: tf.tensor2d(cos, [n, r]), sin: tf.tensor2d(sin, [n, r]) };
}

/** rotate_half(x) = cat(-x[..., r/2:], x[..., :r/2]) on the last axis. */
function rotateHalf(x: tf.Tensor4D): tf.Tensor4D {
  const half = x.shape[3] / 2;
  const [x1, x2] = tf.split(x, [half, half], 3);
  return tf.concat([tf.neg(x2!), x1!], 3) as tf.Tensor4D;
}

/** Rotates x [B, heads, positions, dHead] by tables [positions, rotaryDim] (cos/sin of rotaryTables). */
export function rotary(x: tf.Tensor4D, cfg: Pick<ModelConfig, 'rotaryDim' | 'dHead'>, ctx: { cos?: tf.Tensor2D; sin?: tf.Tensor2D }): tf.Tensor4D {
  const r = cfg.rotaryDim;
  if (r === 0) return x;
  const [cos, sin] = [ctx.cos!, ctx.sin!];
  if (r === cfg.dHead) return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin)) as tf.Tensor4D;
  const [rot, pass] = tf.split(x, [r, cfg.dHead - r], 3) as [tf.Tensor4D, tf.Tensor4D];
  const rotated = tf.add(tf.mul(rot, cos), tf.mul(rotateHalf(rot), sin));
  return tf.concat([rotated as tf.Tensor4D, pass], 3) as tf.Tensor4D;
}
