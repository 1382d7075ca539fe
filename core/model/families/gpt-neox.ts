// GPT-NeoX (Pythia): transformers' GPTNeoXForCausalLM. LayerNorm, partial rotary, parallel residual (by default),
// QKV fused per head, embed_out (or lm_head) untied by default. Config in Pythia's keys (rotary_pct,
// rotary_emb_base) or transformers 5's rope_parameters.
import type { ConfigReader, ModelConfig } from '../config.js';
import { asIs, getter, linearsT, type Family, type HostWeights, type HostArray, type Tensors } from './family.js';

const P = 'gpt_neox.';

function parseConfig(c: ConfigReader): ModelConfig {
  const dModel = c.int('hidden_size');
  const nHeads = c.int('num_attention_heads');
  if (dModel % nHeads !== 0) throw c.fail('hidden_size', `(${dModel}) must be a multiple of num_attention_heads (${nHeads})`);
  const dHead = dModel / nHeads;
  const rope = c.rope({ base: 10000, partial: 0.25 }, { base: 'rotary_emb_base', partial: 'rotary_pct' });
  // transformers: int(head_size * rotary_pct); rotate_half needs an even count.
  const rotaryDim = Math.floor(dHead * rope.partial);
  if (rotaryDim % 2 !== 0) throw c.fail('rotary_pct', `rotary dimension floor(${dHead} * ${rope.partial}) = ${rotaryDim} is odd; rotary needs an even count`);
  const bias = c.bool('attention_bias', true);
  const maxPositions = c.raw['max_position_embeddings'] == null ? undefined : c.int('max_position_embeddings');
  return {
    family: 'gpt_neox',
    architecture: 'GPTNeoXForCausalLM',
    dModel,
    nHeads,
    nKvHeads: nHeads,
    dHead,
    nLayers: c.int('num_hidden_layers'),
    dVocab: c.int('vocab_size'),
    dMlp: c.int('intermediate_size'),
    normalization: 'LN',
    eps: c.positive('layer_norm_eps', 1e-5),
    positional: 'rotary',
    rotaryDim,
    rotaryBase: rope.base,
    ...(rope.scaling ? { ropeScaling: rope.scaling } : {}),
    act: c.act('hidden_act', 'gelu', ['gelu', 'gelu_new', 'silu']),
    gatedMlp: false,
    parallelAttnMlp: c.bool('use_parallel_residual', true),
    qkvBias: bias,
    attnOutBias: bias,
    mlpBias: true,
    qkNorm: false,
    tieEmbeddings: c.bool('tie_word_embeddings', false),
    ...(maxPositions !== undefined ? { maxPositions } : {}),
  };
}

/**
 * Pythia files say embed_out.weight; transformers 5 may write lm_head.weight. Tied: the embedding, whatever the file
 * holds besides (as transformers ties them).
 */
function unembedName(cfg: ModelConfig, names: ReadonlySet<string>): string | undefined {
  if (cfg.tieEmbeddings) return undefined;
  return names.has('lm_head.weight') && !names.has('embed_out.weight') ? 'lm_head.weight' : 'embed_out.weight';
}

function tensors(cfg: ModelConfig, names: ReadonlySet<string>): Map<string, number[]> {
  const { dModel: d, dMlp, dVocab: V } = cfg;
  const m = new Map<string, number[]>([[`${P}embed_in.weight`, [V, d]]]);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `${P}layers.${l}.`;
    for (const ln of ['input_layernorm', 'post_attention_layernorm']) {
      m.set(`${p}${ln}.weight`, [d]);
      m.set(`${p}${ln}.bias`, [d]);
    }
    m.set(`${p}attention.query_key_value.weight`, [3 * d, d]);
    m.set(`${p}attention.dense.weight`, [d, d]);
    if (cfg.qkvBias) m.set(`${p}attention.query_key_value.bias`, [3 * d]);
    if (cfg.attnOutBias) m.set(`${p}attention.dense.bias`, [d]);
    m.set(`${p}mlp.dense_h_to_4h.weight`, [dMlp, d]);
    m.set(`${p}mlp.dense_h_to_4h.bias`, [dMlp]);
    m.set(`${p}mlp.dense_4h_to_h.weight`, [d, dMlp]);
    m.set(`${p}mlp.dense_4h_to_h.bias`, [d]);
  }
  m.set(`${P}final_layer_norm.weight`, [d]);
  m.set(`${P}final_layer_norm.bias`, [d]);
  const un = unembedName(cfg, names);
  if (un) m.set(un, [V, d]);
  return m;
}

/** HF's fused QKV output index is per head [H, 3, dHead]; ours is [3, H, dHead]: our index -> HF's. */
function qkvSource(cfg: ModelConfig): Int32Array {
  const { nHeads: H, dHead: dh, dModel: d } = cfg;
  const src = new Int32Array(3 * d);
  for (let j = 0; j < 3; j++) for (let h = 0; h < H; h++) for (let c = 0; c < dh; c++) src[j * d + h * dh + c] = h * 3 * dh + j * dh + c;
  return src;
}

function weights(cfg: ModelConfig, ts: Tensors): HostWeights {
  const get = getter(ts);
  const d = cfg.dModel;
  const src = qkvSource(cfg);
  // [3d, d] per-head rows -> [d, 3d] columns in [3, H, dHead] order.
  const qkvW = (name: string): HostArray => ({
    shape: [d, 3 * d],
    data: () => {
      const w = get(name).data;
      const out = new Float32Array(3 * d * d);
      for (let r = 0; r < d; r++) for (let c = 0; c < 3 * d; c++) out[r * 3 * d + c] = w[src[c]! * d + r]!;
      return out;
    },
  });
  const qkvB = (name: string): HostArray => ({
    shape: [3 * d],
    data: () => {
      const b = get(name).data;
      return Float32Array.from(src, (i) => b[i]!);
    },
  });
  const norm = (name: string) => ({ w: asIs(get(`${name}.weight`)), b: asIs(get(`${name}.bias`)) });
  const blocks = Array.from({ length: cfg.nLayers }, (_, l) => {
    const p = `${P}layers.${l}.`;
    return {
      ln1: norm(`${p}input_layernorm`),
      ln2: norm(`${p}post_attention_layernorm`),
      wQKV: qkvW(`${p}attention.query_key_value.weight`),
      ...(cfg.qkvBias ? { bQKV: qkvB(`${p}attention.query_key_value.bias`) } : {}),
      wO: linearsT(get(`${p}attention.dense.weight`)),
      ...(cfg.attnOutBias ? { bO: asIs(get(`${p}attention.dense.bias`)) } : {}),
      wIn: linearsT(get(`${p}mlp.dense_h_to_4h.weight`)),
      bIn: asIs(get(`${p}mlp.dense_h_to_4h.bias`)),
      wOut: linearsT(get(`${p}mlp.dense_4h_to_h.weight`)),
      bOut: asIs(get(`${p}mlp.dense_4h_to_h.bias`)),
    };
  });
  const un = unembedName(cfg, new Set(ts.keys()));
  return {
    wE: asIs(get(`${P}embed_in.weight`)),
    blocks,
    lnFinal: norm(`${P}final_layer_norm`),
    ...(un ? { wU: linearsT(get(un)) } : {}),
  };
}

export const gptNeoX: Family = { key: 'gpt_neox', architecture: 'GPTNeoXForCausalLM', modelType: 'gpt_neox', parseConfig, tensors, weights };
