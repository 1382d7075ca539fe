// Loading a Hugging Face GPT-NeoX directory (config.json, model.safetensors or shards + index, tokenizer.json)
// into tfjs tensors. Every failure is a UserError with a stable code and the offending file in its message.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { parseNeoXConfig, type NeoXConfig } from './config.js';
import { readSafetensorsDir, type FloatTensor } from './safetensors.js';
import { HfJsonTokenizer } from './tokenizer.js';
import type { NeoXModel, NeoXWeights } from './neox.js';
import type { BlockWeights } from './block.js';
import { linearFrom, type Linear } from './linear.js';
import { unembedFrom } from './unembed.js';

/** Host-side weights (float32, HF layout) before they become tensors: what a worker thread can be sent. */
export interface HostCheckpoint {
  dir: string;
  cfg: NeoXConfig;
  tensors: Map<string, FloatTensor>;
  files: Map<string, string>;
}

/** Reads and checks config.json and the safetensors weights; no tfjs involved. */
export function readCheckpoint(dir: string): HostCheckpoint {
  const cfg = readConfig(dir);
  const { tensors, files } = readSafetensorsDir(dir);
  checkShapes(cfg, tensors, files, dir);
  return { dir, cfg, tensors, files };
}

/** Reads and checks a model directory's config.json alone: cheap, for checking options before any work. */
export function readConfig(dir: string): NeoXConfig {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) {
    throw new UserError('E_MODEL_MISSING_FILE', `${configPath}: file not found; is ${dir} a Hugging Face model directory?`);
  }
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (e) {
    throw new UserError('E_MODEL_CONFIG', `${configPath}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it must be the model's config.json file`, {
      cause: e,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError('E_MODEL_CONFIG', `${configPath}: not valid JSON`, { cause: e });
  }
  return parseNeoXConfig(raw, configPath);
}

/** Loads the tokenizer and checks it fits the model (its ids must be embeddable). */
export function readTokenizer(dir: string, cfg: NeoXConfig): HfJsonTokenizer {
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) {
    throw new UserError('E_MODEL_MISSING_FILE', `${path}: file not found; a model directory needs tokenizer.json`);
  }
  const tok = HfJsonTokenizer.fromFile(path, join(dir, 'tokenizer_config.json'));
  if (tok.vocabSize > cfg.dVocab) {
    throw new UserError(
      'E_TOKENIZER_VOCAB',
      `${path}: the tokenizer has ids up to ${tok.vocabSize - 1} but config.json's vocab_size is ${cfg.dVocab}; ` +
        'the model cannot embed those tokens (wrong tokenizer for this model?)',
    );
  }
  return tok;
}

/** Expected HF tensor names and shapes ([out, in] for linear layers, as torch stores them). */
function expectedShapes(cfg: NeoXConfig): Map<string, number[]> {
  const { dModel: d, dMlp, dVocab: V } = cfg;
  const m = new Map<string, number[]>();
  m.set('gpt_neox.embed_in.weight', [V, d]);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `gpt_neox.layers.${l}.`;
    for (const ln of ['input_layernorm', 'post_attention_layernorm']) {
      m.set(`${p}${ln}.weight`, [d]);
      m.set(`${p}${ln}.bias`, [d]);
    }
    m.set(`${p}attention.query_key_value.weight`, [3 * d, d]);
    m.set(`${p}attention.dense.weight`, [d, d]);
    if (cfg.attentionBias) {
      m.set(`${p}attention.query_key_value.bias`, [3 * d]);
      m.set(`${p}attention.dense.bias`, [d]);
    }
    m.set(`${p}mlp.dense_h_to_4h.weight`, [dMlp, d]);
    m.set(`${p}mlp.dense_h_to_4h.bias`, [dMlp]);
    m.set(`${p}mlp.dense_4h_to_h.weight`, [d, dMlp]);
    m.set(`${p}mlp.dense_4h_to_h.bias`, [d]);
  }
  m.set('gpt_neox.final_layer_norm.weight', [d]);
  m.set('gpt_neox.final_layer_norm.bias', [d]);
  return m;
}

/** The unembedding's name: Pythia files say `embed_out.weight`, transformers 5 may write `lm_head.weight`. */
function unembedName(cfg: NeoXConfig, tensors: Map<string, FloatTensor>): string | undefined {
  if (tensors.has('embed_out.weight')) return 'embed_out.weight';
  if (tensors.has('lm_head.weight')) return 'lm_head.weight';
  return cfg.tieEmbeddings ? undefined : 'embed_out.weight';
}

function checkShapes(cfg: NeoXConfig, tensors: Map<string, FloatTensor>, files: Map<string, string>, dir: string): void {
  const expected = expectedShapes(cfg);
  const un = unembedName(cfg, tensors);
  if (un) expected.set(un, [cfg.dVocab, cfg.dModel]);
  const weightsFile = files.values().next().value ?? join(dir, 'model.safetensors');
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) {
      throw new UserError('E_MODEL_MISSING_TENSOR', `${weightsFile}: tensor ${name} is missing (expected shape [${shape}]); not a GPT-NeoX checkpoint matching config.json?`);
    }
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new UserError('E_MODEL_SHAPE', `${files.get(name)}: tensor ${name}: expected shape [${shape}] from config.json, got [${t.shape}]`);
    }
  }
}

/** [rows, cols] row-major -> [cols, rows]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** Maps fused-QKV output index from HF's per-head [H, 3, dHead] to [3, H, dHead]: new index -> old index. */
function qkvPermutation(cfg: NeoXConfig): Int32Array {
  const { nHeads: H, dHead: dh, dModel: d } = cfg;
  const perm = new Int32Array(3 * d);
  for (let j = 0; j < 3; j++) for (let h = 0; h < H; h++) for (let c = 0; c < dh; c++) perm[j * d + h * dh + c] = h * 3 * dh + j * dh + c;
  return perm;
}

/**
 * Turns host weights into tfjs tensors on the current backend ([in, out] matrices, QKV reordered). `slabColumns`:
 * the unembedding's column slabs (unembed.ts; absent: one slab).
 */
export function toModel(ck: HostCheckpoint, options: { slabColumns?: number } = {}): NeoXModel {
  const { cfg, tensors } = ck;
  const get = (name: string) => tensors.get(name)!;
  const vec = (name: string) => tf.tensor1d(get(name).data);
  const zeros = (n: number) => tf.zeros([n]) as tf.Tensor1D;
  const linear = (name: string) => {
    const [out, inn] = get(name).shape as [number, number];
    return linearFrom(tf.tensor2d(transpose(get(name).data, out, inn), [inn, out]));
  };
  const d = cfg.dModel;
  const perm = qkvPermutation(cfg);
  const blocks: BlockWeights[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `gpt_neox.layers.${l}.`;
    const qkvT = transpose(get(`${p}attention.query_key_value.weight`).data, 3 * d, d); // [d, 3d]
    const qkvW = new Float32Array(3 * d * d);
    for (let r = 0; r < d; r++) for (let c = 0; c < 3 * d; c++) qkvW[r * 3 * d + c] = qkvT[r * 3 * d + perm[c]!]!;
    const qkvB = new Float32Array(3 * d);
    if (cfg.attentionBias) {
      const b = get(`${p}attention.query_key_value.bias`).data;
      for (let c = 0; c < 3 * d; c++) qkvB[c] = b[perm[c]!]!;
    }
    blocks.push({
      ln1: { w: vec(`${p}input_layernorm.weight`), b: vec(`${p}input_layernorm.bias`) },
      ln2: { w: vec(`${p}post_attention_layernorm.weight`), b: vec(`${p}post_attention_layernorm.bias`) },
      attn: {
        qkvW: linearFrom(tf.tensor2d(qkvW, [d, 3 * d])),
        qkvB: tf.tensor1d(qkvB),
        denseW: linear(`${p}attention.dense.weight`),
        denseB: cfg.attentionBias ? vec(`${p}attention.dense.bias`) : zeros(d),
      },
      mlp: {
        inW: linear(`${p}mlp.dense_h_to_4h.weight`),
        inB: vec(`${p}mlp.dense_h_to_4h.bias`),
        outW: linear(`${p}mlp.dense_4h_to_h.weight`),
        outB: vec(`${p}mlp.dense_4h_to_h.bias`),
      },
    });
  }
  const un = unembedName(cfg, tensors);
  const embed = linearFrom(tf.tensor2d(get('gpt_neox.embed_in.weight').data, [cfg.dVocab, d]));
  // Tied: the unembedding is the embedding's transpose; share the tensors (the slabs are copies).
  const unLinear = un ? linear(un) : { w: embed.wT, wT: embed.w };
  const unembed = unembedFrom(unLinear.w, unLinear.wT, options.slabColumns);
  if (un && unembed.slabs[0] !== unLinear.w) unLinear.w.dispose(); // the slabs hold it now
  const weights: NeoXWeights = {
    embed,
    blocks,
    lnFinal: { w: vec('gpt_neox.final_layer_norm.weight'), b: vec('gpt_neox.final_layer_norm.bias') },
    unembed,
  };
  return { cfg, weights };
}

/** Every tensor a model holds, for dispose(). */
export function modelTensors(model: NeoXModel): tf.Tensor[] {
  const w = model.weights;
  const lin = (l: Linear) => [l.w, l.wT];
  const out: tf.Tensor[] = [...lin(w.embed), ...w.unembed.slabs, w.unembed.wT, w.lnFinal.w, w.lnFinal.b];
  for (const b of w.blocks) {
    out.push(b.ln1.w, b.ln1.b, b.ln2.w, b.ln2.b, ...lin(b.attn.qkvW), b.attn.qkvB, ...lin(b.attn.denseW), b.attn.denseB);
    out.push(...lin(b.mlp.inW), b.mlp.inB, ...lin(b.mlp.outW), b.mlp.outB);
  }
  return [...new Set(out)]; // tied weights appear twice
}
