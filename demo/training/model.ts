// A trainable GPT-NeoX: the weights as tf.Variables and a forward pass with plain matMuls, so gradients reach
// the weights. core/model's forward cannot be reused for training: its matMulConst (core/model/linear.ts)
// lets gradients flow to the input only, which is what EPO needs and what makes it fast on wasm. This file
// mirrors core/model's attention/block/NeoX step for step (layerNorm, gelu, the rotary tables and the loss are
// imported from there), and test/demo/train.test.ts checks its logits against TfjsEngine's on the saved files.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../core/model/config.js';
import { attentionContext, type AttentionContext } from '../../core/model/attention.js';
import { layerNorm, type LayerNormWeights } from '../../core/model/norm.js';
import { rotary } from '../../core/model/rotary.js';
import { gelu } from '../../core/model/mlp.js';
import type { TensorToWrite, Dtype } from '../../core/model/safetensors.js';
import { Rng } from '../../core/rng.js';

interface LnVars {
  w: tf.Variable;
  b: tf.Variable;
}

/** One block's weights, matrices [in, out]; qkvW's columns ordered [3, H, dHead] as in core/model. */
export interface BlockVars {
  ln1: LnVars;
  ln2: LnVars;
  qkvW: tf.Variable;
  qkvB: tf.Variable;
  denseW: tf.Variable;
  denseB: tf.Variable;
  inW: tf.Variable;
  inB: tf.Variable;
  outW: tf.Variable;
  outB: tf.Variable;
}

/** Every trainable weight of an untied GPT-NeoX. */
export interface TrainableNeoX {
  cfg: ModelConfig;
  /** [dVocab, dModel] */
  embed: tf.Variable;
  blocks: BlockVars[];
  lnFinal: LnVars;
  /** [dModel, dVocab] */
  unembed: tf.Variable;
}

/** Why: a seeded initialisation (GPT-NeoX's: normal 0.02, output projections scaled down by depth). */
export function initTrainable(cfg: ModelConfig, seed: number): TrainableNeoX {
  if (cfg.tieEmbeddings || !cfg.qkvBias) throw new Error('initTrainable: expects untied embeddings and biases (Pythia)');
  const rng = Rng.seeded(seed);
  const { dModel: d, dMlp, dVocab: V } = cfg;
  const normal = (shape: number[], std: number) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    return owned(tf.tensor(data, shape));
  };
  const fill = (n: number, v: number) => owned(tf.fill([n], v));
  const ln = (): LnVars => ({ w: fill(d, 1), b: fill(d, 0) });
  const std = 0.02;
  const outStd = std / Math.sqrt(2 * cfg.nLayers);
  const blocks: BlockVars[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    blocks.push({
      ln1: ln(),
      ln2: ln(),
      qkvW: normal([d, 3 * d], std),
      qkvB: fill(3 * d, 0),
      denseW: normal([d, d], outStd),
      denseB: fill(d, 0),
      inW: normal([d, dMlp], std),
      inB: fill(dMlp, 0),
      outW: normal([dMlp, d], outStd),
      outB: fill(d, 0),
    });
  }
  return { cfg, embed: normal([V, d], std), blocks, lnFinal: ln(), unembed: normal([d, V], std) };
}

/** A variable that owns its value (tf.variable shares the initial tensor's data and leaves it counted). */
function owned(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

/** Every variable, in a fixed order (for the optimiser and dispose). */
export function trainableVariables(m: TrainableNeoX): tf.Variable[] {
  const out: tf.Variable[] = [m.embed];
  for (const b of m.blocks) {
    out.push(b.ln1.w, b.ln1.b, b.ln2.w, b.ln2.b, b.qkvW, b.qkvB, b.denseW, b.denseB, b.inW, b.inB, b.outW, b.outB);
  }
  out.push(m.lnFinal.w, m.lnFinal.b, m.unembed);
  return out;
}

/** Variables are tensors of unknown rank; core/model's layerNorm wants 1-D ones. */
function lnw(v: LnVars): LayerNormWeights {
  return { w: v.w as tf.Tensor as tf.Tensor1D, b: v.b as tf.Tensor as tf.Tensor1D };
}

/**
 * x @ w with both gradients computed by plain matMuls of explicit transposes: on wasm a matMul with a
 * transposed operand (what tfjs's own matMul gradient runs) is several times slower than transpose + matMul.
 */
export const matMulTrain = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, w: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  const [a, b] = [x as tf.Tensor2D, w as tf.Tensor2D];
  (save as tf.GradSaveFunc)([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, swapLast(sb)), tf.matMul(swapLast(sa), dy as tf.Tensor2D)];
    },
  };
}) as unknown as <T extends tf.Tensor2D | tf.Tensor3D>(x: T, w: T) => T;

/** Transposes the last two axes of a matrix or a batch of matrices. */
function swapLast<T extends tf.Tensor>(t: T): T {
  return tf.transpose(t, t.rank === 2 ? [1, 0] : [0, 2, 1]) as T;
}

/** x: [rows, in] @ W [in, out] + b. */
function dense(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(matMulTrain(x, w as tf.Tensor2D), b);
}

function attention(x: tf.Tensor3D, w: BlockVars, cfg: ModelConfig, ctx: AttentionContext): tf.Tensor3D {
  const [B, n, d] = x.shape;
  const H = cfg.nHeads;
  const dh = cfg.dHead;
  const qkv = dense(tf.reshape(x, [B * n, d]), w.qkvW, w.qkvB); // [B*n, 3d] as [3, H, dh]
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, n, H, dh]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, n, dh]
  const [q0, k0, v0] = tf.split(qkv, 3, 1);
  const q = rotary(heads(q0!), cfg, ctx);
  const k = rotary(heads(k0!), cfg, ctx);
  const v = heads(v0!);
  const kT = swapLast(tf.reshape(k, [B * H, n, dh]) as tf.Tensor3D); // [B*H, dh, n]
  const scores = matMulTrain(tf.reshape(q, [B * H, n, dh]) as tf.Tensor3D, kT); // [B*H, n, n]
  const probs = tf.softmax(tf.add(tf.mul(scores, tf.scalar(1 / Math.sqrt(dh))), ctx.mask), -1);
  const z = matMulTrain(probs as tf.Tensor3D, tf.reshape(v, [B * H, n, dh]) as tf.Tensor3D); // [B*H, n, dh]
  const merged = tf.reshape(tf.transpose(tf.reshape(z, [B, H, n, dh]), [0, 2, 1, 3]), [B * n, d]) as tf.Tensor2D;
  return tf.reshape(dense(merged, w.denseW, w.denseB), [B, n, d]);
}

function mlp(x: tf.Tensor3D, w: BlockVars): tf.Tensor3D {
  const [B, n, d] = x.shape;
  const post = gelu(dense(tf.reshape(x, [B * n, d]), w.inW, w.inB)) as tf.Tensor2D; // [B*n, dMlp]
  return tf.reshape(dense(post, w.outW, w.outB), [B, n, d]);
}

/** Token ids [B, n] -> logits [B, n, dVocab]; call inside tf.tidy / a gradient function. */
export function trainForward(m: TrainableNeoX, ids: tf.Tensor2D, ctx: AttentionContext = attentionContext(m.cfg, ids.shape[1])): tf.Tensor3D {
  const { cfg } = m;
  const [B, n] = ids.shape;
  const d = cfg.dModel;
  // oneHot @ E rather than gather: wasm has no gradient for gather.
  const oneHot = tf.cast(tf.oneHot(tf.reshape(ids, [B * n]), cfg.dVocab), 'float32') as tf.Tensor2D;
  let x = tf.reshape(matMulTrain(oneHot, m.embed as tf.Tensor2D), [B, n, d]) as tf.Tensor3D;
  for (const w of m.blocks) {
    const attnOut = attention(layerNorm(x, lnw(w.ln1), cfg.eps), w, cfg, ctx);
    if (cfg.parallelAttnMlp) {
      x = tf.add(tf.add(mlp(layerNorm(x, lnw(w.ln2), cfg.eps), w), attnOut), x);
    } else {
      const mid = tf.add(attnOut, x) as tf.Tensor3D;
      x = tf.add(mlp(layerNorm(mid, lnw(w.ln2), cfg.eps), w), mid);
    }
  }
  const normed = layerNorm(x, lnw(m.lnFinal), cfg.eps);
  return tf.reshape(matMulTrain(tf.reshape(normed, [B * n, d]) as tf.Tensor2D, m.unembed as tf.Tensor2D), [B, n, cfg.dVocab]);
}

// ---- export in the Hugging Face layout ---------------------------------------------------------------------

/** [rows, cols] row-major -> [cols, rows]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** Why: the weights as transformers' GPTNeoXForCausalLM names and orientations ([out, in], per-head QKV). */
export function toHfTensors(m: TrainableNeoX, dtype: Dtype = 'F32'): Map<string, TensorToWrite> {
  const { cfg } = m;
  const { dModel: d, dHead: dh } = cfg;
  const out = new Map<string, TensorToWrite>();
  const data = (v: tf.Variable) => v.dataSync() as Float32Array;
  const put = (name: string, shape: number[], values: Float32Array) => out.set(name, { shape, dtype, data: values });
  const linear = (name: string, v: tf.Variable) => {
    const [inn, o] = v.shape as [number, number];
    put(name, [o, inn], transpose(data(v), inn, o));
  };
  // Engine column j*d + h*dh + c  <-  HF row h*3*dh + j*dh + c.
  const hfRow = (col: number) => {
    const j = Math.floor(col / d);
    const h = Math.floor((col % d) / dh);
    return h * 3 * dh + j * dh + (col % dh);
  };
  put('gpt_neox.embed_in.weight', [cfg.dVocab, d], data(m.embed).slice());
  m.blocks.forEach((b, l) => {
    const p = `gpt_neox.layers.${l}.`;
    put(`${p}input_layernorm.weight`, [d], data(b.ln1.w).slice());
    put(`${p}input_layernorm.bias`, [d], data(b.ln1.b).slice());
    put(`${p}post_attention_layernorm.weight`, [d], data(b.ln2.w).slice());
    put(`${p}post_attention_layernorm.bias`, [d], data(b.ln2.b).slice());
    const qkv = data(b.qkvW); // [d, 3d]
    const qkvB = data(b.qkvB);
    const w = new Float32Array(3 * d * d);
    const bias = new Float32Array(3 * d);
    for (let col = 0; col < 3 * d; col++) {
      const row = hfRow(col);
      bias[row] = qkvB[col]!;
      for (let i = 0; i < d; i++) w[row * d + i] = qkv[i * 3 * d + col]!;
    }
    put(`${p}attention.query_key_value.weight`, [3 * d, d], w);
    put(`${p}attention.query_key_value.bias`, [3 * d], bias);
    linear(`${p}attention.dense.weight`, b.denseW);
    put(`${p}attention.dense.bias`, [d], data(b.denseB).slice());
    linear(`${p}mlp.dense_h_to_4h.weight`, b.inW);
    put(`${p}mlp.dense_h_to_4h.bias`, [cfg.dMlp], data(b.inB).slice());
    linear(`${p}mlp.dense_4h_to_h.weight`, b.outW);
    put(`${p}mlp.dense_4h_to_h.bias`, [d], data(b.outB).slice());
  });
  put('gpt_neox.final_layer_norm.weight', [d], data(m.lnFinal.w).slice());
  put('gpt_neox.final_layer_norm.bias', [d], data(m.lnFinal.b).slice());
  linear('embed_out.weight', m.unembed);
  return out;
}

/** The architecture of a Pythia-style model as the fields config.json needs. */
export interface NeoXArchitecture {
  dModel: number;
  nHeads: number;
  nLayers: number;
  dVocab: number;
  dMlp: number;
  rotaryPct: number;
  maxPositions: number;
  eosId: number;
}

/** Why: a config.json that transformers and core/model/config.ts both read (Pythia's classic keys). */
export function hfConfigJson(a: NeoXArchitecture, dtype: Dtype = 'F32'): Record<string, unknown> {
  return {
    architectures: ['GPTNeoXForCausalLM'],
    model_type: 'gpt_neox',
    hidden_size: a.dModel,
    num_attention_heads: a.nHeads,
    num_hidden_layers: a.nLayers,
    intermediate_size: a.dMlp,
    vocab_size: a.dVocab,
    hidden_act: 'gelu',
    rotary_pct: a.rotaryPct,
    rotary_emb_base: 10000,
    max_position_embeddings: a.maxPositions,
    layer_norm_eps: 1e-5,
    initializer_range: 0.02,
    use_parallel_residual: true,
    tie_word_embeddings: false,
    attention_dropout: 0.0,
    hidden_dropout: 0.0,
    bos_token_id: a.eosId,
    eos_token_id: a.eosId,
    use_cache: true,
    torch_dtype: dtype === 'F32' ? 'float32' : dtype === 'F16' ? 'float16' : 'bfloat16',
  };
}
