// Gemma 2 and Gemma 3 (text): transformers' Gemma2ForCausalLM and Gemma3ForCausalLM (model_type gemma3_text). Llama's
// tensors (llama.ts) plus a norm after attention and one after the MLP, and what sets the forward pass apart:
// embeddings times sqrt(d_model), RMSNorm as x * rsqrt(mean(x^2) + eps) * (1 + w) (the 1 folded into the weights
// here), GeGLU with the tanh GELU, scores times query_pre_attn_scalar^-0.5, soft-capped attention scores (Gemma 2)
// and logits, sliding-window layers among full ones, and Gemma 3's q/k norms and unscaled local rotary base.
import { describe, type ConfigReader, type FamilyKey, type Json, type LayerType, type ModelConfig, type RopeScaling } from '../config.js';
import { asIs, getter, plusOne, type Family, type HostArray, type HostWeights, type Tensors } from './family.js';
import { llamaHeads, llamaTensors, llamaWeights } from './llama.js';

/** What Gemma 2 and 3 differ in, with transformers' config class defaults. */
interface GemmaVariant {
  key: FamilyKey;
  architecture: string;
  modelType: string;
  qkNorm: boolean;
  /** attn_logit_softcapping, final_logit_softcapping when the key is absent (null: off). */
  attnSoftcap?: number;
  finalSoftcap?: number;
  maxPositions: number;
  /** Layer i is sliding iff (i + 1) % pattern != 0 when config.json lists no layer_types. */
  pattern(c: ConfigReader): number;
  /** The rotary settings: full layers' base and scaling, sliding layers' base when it differs. */
  rope(c: ConfigReader): { base: number; scaling?: RopeScaling; localBase?: number };
}

/** A soft-cap: a positive number, or null for none (`fallback` when the key is absent). */
function softcapOf(c: ConfigReader, key: string, fallback: number | undefined): number | undefined {
  const v = c.raw[key];
  if (v === undefined) return fallback;
  if (v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) throw c.fail(key, `expected a positive number (or null: no soft-capping), got ${describe(v)}`);
  return v;
}

/** transformers 5's layer_types, or transformers 4's alternation (layer i sliding iff (i + 1) % pattern != 0). */
function layerTypesOf(c: ConfigReader, nLayers: number, pattern: () => number): LayerType[] {
  const v = c.raw['layer_types'];
  if (v === undefined || v === null) {
    const every = pattern();
    return Array.from({ length: nLayers }, (_, i) => ((i + 1) % every !== 0 ? 'sliding' : 'full'));
  }
  if (!Array.isArray(v)) throw c.fail('layer_types', `expected a list of "sliding_attention" or "full_attention", got ${describe(v)}`);
  if (v.length !== nLayers) throw c.fail('layer_types', `expected ${nLayers} entries (one per layer, num_hidden_layers), got ${v.length}`);
  return v.map((t: unknown, i) => {
    if (t === 'sliding_attention') return 'sliding';
    if (t === 'full_attention') return 'full';
    throw c.fail(`layer_types[${i}]`, `expected "sliding_attention" or "full_attention", got ${describe(t)}`);
  });
}

function parseConfig(v: GemmaVariant, c: ConfigReader): ModelConfig {
  const { dModel, nHeads, nKvHeads, dHead } = llamaHeads(c, { kvHeads: () => 4, headDim: () => 256 });
  const nLayers = c.int('num_hidden_layers');
  c.only('use_bidirectional_attention', [false], 'bidirectional attention is not causal language modelling');
  const rope = v.rope(c);
  const attnSoftcap = softcapOf(c, 'attn_logit_softcapping', v.attnSoftcap);
  const finalSoftcap = softcapOf(c, 'final_logit_softcapping', v.finalSoftcap);
  const attention = c.bool('attention_bias', false);
  return {
    family: v.key,
    architecture: v.architecture,
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    nLayers,
    dVocab: c.int('vocab_size'),
    dMlp: c.int('intermediate_size'),
    normalization: 'RMS',
    eps: c.positive('rms_norm_eps', 1e-6),
    positional: 'rotary',
    rotaryDim: dHead,
    rotaryBase: rope.base,
    ...(rope.scaling ? { ropeScaling: rope.scaling } : {}),
    act: c.act('hidden_activation', 'gelu_new', ['gelu_new', 'gelu', 'silu']),
    gatedMlp: true,
    parallelAttnMlp: false,
    qkvBias: attention,
    attnOutBias: attention,
    mlpBias: false,
    qkNorm: v.qkNorm,
    tieEmbeddings: c.bool('tie_word_embeddings', true),
    maxPositions: c.int('max_position_embeddings', v.maxPositions),
    embedScale: true,
    normPlusOne: true,
    postNorms: true,
    attnScale: c.positive('query_pre_attn_scalar', 256) ** -0.5,
    ...(attnSoftcap !== undefined ? { attnSoftcap } : {}),
    ...(finalSoftcap !== undefined ? { finalSoftcap } : {}),
    slidingWindow: c.int('sliding_window', 4096),
    layerTypes: layerTypesOf(c, nLayers, () => v.pattern(c)),
    ...(rope.localBase !== undefined ? { localRotaryBase: rope.localBase } : {}),
  };
}

function tensors(cfg: ModelConfig, names: ReadonlySet<string>): Map<string, number[]> {
  const m = llamaTensors(cfg, names);
  for (let l = 0; l < cfg.nLayers; l++) {
    m.set(`model.layers.${l}.pre_feedforward_layernorm.weight`, [cfg.dModel]);
    m.set(`model.layers.${l}.post_feedforward_layernorm.weight`, [cfg.dModel]);
  }
  return m;
}

/** Llama's weights with Gemma's four norms per block (input, post-attention, pre- and post-feedforward), all (1 + w). */
function weights(cfg: ModelConfig, ts: Tensors): HostWeights {
  const get = getter(ts);
  const base = llamaWeights(cfg, ts);
  const w = (h: HostArray) => (cfg.normPlusOne ? plusOne(h) : h);
  const normOf = (name: string) => ({ w: w(asIs(get(name))) });
  return {
    ...base,
    blocks: base.blocks.map((b, l) => {
      const p = `model.layers.${l}.`;
      return {
        ...b,
        ln1: normOf(`${p}input_layernorm.weight`),
        ln2: normOf(`${p}pre_feedforward_layernorm.weight`),
        postAttnNorm: normOf(`${p}post_attention_layernorm.weight`),
        postMlpNorm: normOf(`${p}post_feedforward_layernorm.weight`),
        ...(b.qNorm && b.kNorm ? { qNorm: w(b.qNorm), kNorm: w(b.kNorm) } : {}),
      };
    }),
    lnFinal: { w: w(base.lnFinal.w) },
  };
}

function gemmaFamily(v: GemmaVariant): Family {
  return { key: v.key, architecture: v.architecture, modelType: v.modelType, parseConfig: (c) => parseConfig(v, c), tensors, weights };
}

export const gemma2 = gemmaFamily({
  key: 'gemma2',
  architecture: 'Gemma2ForCausalLM',
  modelType: 'gemma2',
  qkNorm: false,
  attnSoftcap: 50,
  finalSoftcap: 30,
  maxPositions: 8192,
  pattern: () => 2,
  rope: (c) => {
    const r = c.rope({ base: 10000, partial: 1 }, {}, ['linear']);
    if (r.partial !== 1) throw c.fail('partial_rotary_factor', `expected 1 (every dimension rotates in Gemma 2), got ${r.partial}`);
    return r;
  },
});

/**
 * Gemma 3's rotary settings: transformers 5's rope_parameters per layer type {full_attention: {...},
 * sliding_attention: {...}}, or 4's rope_theta and rope_scaling (full layers) with rope_local_base_freq (sliding).
 * The sliding layers never scale.
 */
function gemma3Rope(c: ConfigReader): { base: number; scaling?: RopeScaling; localBase: number } {
  const params = c.object('rope_parameters');
  if (params && ('full_attention' in params || 'sliding_attention' in params)) {
    const sub = (type: string): Json => {
      const v = params[type];
      if (v === undefined || v === null) return {};
      if (typeof v !== 'object' || Array.isArray(v)) throw c.fail(`rope_parameters.${type}`, `expected an object, got ${describe(v)}`);
      return v as Json;
    };
    const [full, sliding] = [sub('full_attention'), sub('sliding_attention')];
    const scaling = c.ropeScaling(full, 'rope_parameters.full_attention', ['linear']);
    c.ropeScaling(sliding, 'rope_parameters.sliding_attention', []);
    return {
      base: c.positive('rope_parameters.full_attention.rope_theta', 1e6, full['rope_theta']),
      ...(scaling ? { scaling } : {}),
      localBase: c.positive('rope_parameters.sliding_attention.rope_theta', 10000, sliding['rope_theta']),
    };
  }
  const r = c.rope({ base: 1e6, partial: 1 }, {}, ['linear']);
  if (r.partial !== 1) throw c.fail('partial_rotary_factor', `expected 1 (every dimension rotates in Gemma 3), got ${r.partial}`);
  return { base: r.base, ...(r.scaling ? { scaling: r.scaling } : {}), localBase: c.positive('rope_local_base_freq', 10000) };
}

export const gemma3 = gemmaFamily({
  key: 'gemma3',
  architecture: 'Gemma3ForCausalLM',
  modelType: 'gemma3_text',
  qkNorm: true,
  maxPositions: 131072,
  // transformers 5 writes its pattern as "_sliding_window_pattern" beside layer_types, which alone count.
  pattern: (c) => c.int('sliding_window_pattern', 6),
  rope: gemma3Rope,
});
