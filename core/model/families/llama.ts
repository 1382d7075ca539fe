// Llama (transformers' LlamaForCausalLM; Llama 3.x with llama3 rope scaling) and the families built like it
// (mistral.ts, qwen2.ts, qwen3.ts pass their differences to llamaFamily): RMSNorm, full rotary, grouped-query
// attention, SwiGLU, serial residual, head_dim possibly given, tied or untied embeddings.
import type { ConfigReader, FamilyKey, ModelConfig } from '../config.js';
import { asIs, concat, getter, linearsT, type Family, type HostWeights, type HostBlock, type Tensors } from './family.js';

/** What a Llama-like family changes. */
export interface LlamaVariant {
  key: FamilyKey;
  architecture: string;
  modelType: string;
  /** q/k/v, output and MLP biases as the config says (transformers hard-codes some per family). */
  biases(c: ConfigReader): Pick<ModelConfig, 'qkvBias' | 'attnOutBias' | 'mlpBias'>;
  qkNorm: boolean;
  /** head_dim when config.json omits it: transformers' config class default. */
  headDim(c: ConfigReader, dModel: number, nHeads: number): number;
  /** num_key_value_heads when config.json omits it: transformers' config class default. */
  kvHeads(nHeads: number): number;
  /** The attention window when one applies (sliding-window layers); undefined: full causal attention. */
  window(c: ConfigReader): number | undefined;
}

/** dModel / nHeads, refusing a split that is not whole. */
export function evenHeadDim(c: ConfigReader, dModel: number, nHeads: number): number {
  if (dModel % nHeads !== 0) throw c.fail('hidden_size', `(${dModel}) must be a multiple of num_attention_heads (${nHeads}) when head_dim is not given`);
  return dModel / nHeads;
}

/** Qwen 2/3: sliding_window counts only with use_sliding_window (transformers 4) or sliding layers (5's layer_types). */
export function qwenWindow(c: ConfigReader): number | undefined {
  const layers = c.raw['layer_types'];
  const sliding = c.bool('use_sliding_window', false) || (Array.isArray(layers) && layers.includes('sliding_attention'));
  return sliding && c.raw['sliding_window'] != null ? c.int('sliding_window') : undefined;
}

/**
 * The attention heads of a Llama-layout config (Gemma's too): grouped-query heads that divide the query heads, and
 * an even head_dim for rotary embeddings; `kvHeads` and `headDim` give the config class's defaults.
 */
export function llamaHeads(c: ConfigReader, defaults: Pick<LlamaVariant, 'kvHeads' | 'headDim'>): Pick<ModelConfig, 'dModel' | 'nHeads' | 'nKvHeads' | 'dHead'> {
  const dModel = c.int('hidden_size');
  const nHeads = c.int('num_attention_heads');
  const nKvHeads = c.int('num_key_value_heads', defaults.kvHeads(nHeads));
  if (nHeads % nKvHeads !== 0) throw c.fail('num_key_value_heads', `(${nKvHeads}) must divide num_attention_heads (${nHeads})`);
  const dHead = c.raw['head_dim'] == null ? defaults.headDim(c, dModel, nHeads) : c.int('head_dim');
  if (dHead % 2 !== 0) throw c.fail('head_dim', `(${dHead}) must be even for rotary embeddings`);
  return { dModel, nHeads, nKvHeads, dHead };
}

function parseConfig(v: LlamaVariant, c: ConfigReader): ModelConfig {
  const { dModel, nHeads, nKvHeads, dHead } = llamaHeads(c, v);
  const rope = c.rope({ base: 10000, partial: 1 });
  if (rope.partial !== 1) throw c.fail('partial_rotary_factor', `expected 1 (every dimension rotates in ${v.architecture}), got ${rope.partial}`);
  // A sliding window changes nothing for sequences no longer than it; longer ones are refused (checkSeqLen).
  const limits = [c.raw['max_position_embeddings'] == null ? undefined : c.int('max_position_embeddings'), v.window(c)].filter((x): x is number => x !== undefined);
  return {
    family: v.key,
    architecture: v.architecture,
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    nLayers: c.int('num_hidden_layers'),
    dVocab: c.int('vocab_size'),
    dMlp: c.int('intermediate_size'),
    normalization: 'RMS',
    eps: c.positive('rms_norm_eps', 1e-6),
    positional: 'rotary',
    rotaryDim: dHead,
    rotaryBase: rope.base,
    ...(rope.scaling ? { ropeScaling: rope.scaling } : {}),
    act: c.act('hidden_act', 'silu', ['silu', 'gelu', 'gelu_new']),
    gatedMlp: true,
    parallelAttnMlp: false,
    ...v.biases(c),
    qkNorm: v.qkNorm,
    tieEmbeddings: c.bool('tie_word_embeddings', false),
    ...(limits.length ? { maxPositions: Math.min(...limits) } : {}),
  };
}

/** The tensors of a Llama-like checkpoint (Gemma's add to them). */
export function llamaTensors(cfg: ModelConfig, _names: ReadonlySet<string>): Map<string, number[]> {
  const { dModel: d, dMlp, dVocab: V, dHead: dh } = cfg;
  const [q, kv] = [cfg.nHeads * dh, cfg.nKvHeads * dh];
  const m = new Map<string, number[]>([['model.embed_tokens.weight', [V, d]]]);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `model.layers.${l}.`;
    m.set(`${p}input_layernorm.weight`, [d]);
    m.set(`${p}post_attention_layernorm.weight`, [d]);
    for (const [name, out] of [
      ['q', q],
      ['k', kv],
      ['v', kv],
    ] as const) {
      m.set(`${p}self_attn.${name}_proj.weight`, [out, d]);
      if (cfg.qkvBias) m.set(`${p}self_attn.${name}_proj.bias`, [out]);
    }
    m.set(`${p}self_attn.o_proj.weight`, [d, q]);
    if (cfg.attnOutBias) m.set(`${p}self_attn.o_proj.bias`, [d]);
    if (cfg.qkNorm) {
      m.set(`${p}self_attn.q_norm.weight`, [dh]);
      m.set(`${p}self_attn.k_norm.weight`, [dh]);
    }
    for (const [name, shape] of [
      ['gate', [dMlp, d]],
      ['up', [dMlp, d]],
      ['down', [d, dMlp]],
    ] as const) {
      m.set(`${p}mlp.${name}_proj.weight`, [...shape]);
      if (cfg.mlpBias) m.set(`${p}mlp.${name}_proj.bias`, [shape[0]]);
    }
  }
  m.set('model.norm.weight', [d]);
  // Tied: the unembedding is W_E whatever the file holds besides (transformers ties lm_head to the embedding).
  if (!cfg.tieEmbeddings) m.set('lm_head.weight', [V, d]);
  return m;
}

/** A Llama-like checkpoint's weights in the shared layout (Gemma's remap its norms). */
export function llamaWeights(cfg: ModelConfig, ts: Tensors): HostWeights {
  const get = getter(ts);
  const blocks = Array.from({ length: cfg.nLayers }, (_, l): HostBlock => {
    const p = `model.layers.${l}.`;
    const attn = (n: string, what: string) => get(`${p}self_attn.${n}_proj.${what}`);
    const mlp = (n: string, what: string) => get(`${p}mlp.${n}_proj.${what}`);
    return {
      ln1: { w: asIs(get(`${p}input_layernorm.weight`)) },
      ln2: { w: asIs(get(`${p}post_attention_layernorm.weight`)) },
      wQKV: linearsT(attn('q', 'weight'), attn('k', 'weight'), attn('v', 'weight')),
      ...(cfg.qkvBias ? { bQKV: concat(attn('q', 'bias'), attn('k', 'bias'), attn('v', 'bias')) } : {}),
      wO: linearsT(attn('o', 'weight')),
      ...(cfg.attnOutBias ? { bO: asIs(attn('o', 'bias')) } : {}),
      ...(cfg.qkNorm ? { qNorm: asIs(get(`${p}self_attn.q_norm.weight`)), kNorm: asIs(get(`${p}self_attn.k_norm.weight`)) } : {}),
      wIn: linearsT(mlp('gate', 'weight'), mlp('up', 'weight')), // [d, 2 dMlp]: gate | up
      ...(cfg.mlpBias ? { bIn: concat(mlp('gate', 'bias'), mlp('up', 'bias')), bOut: asIs(mlp('down', 'bias')) } : {}),
      wOut: linearsT(mlp('down', 'weight')),
    };
  });
  const head = cfg.tieEmbeddings ? undefined : get('lm_head.weight');
  return {
    wE: asIs(get('model.embed_tokens.weight')),
    blocks,
    lnFinal: { w: asIs(get('model.norm.weight')) },
    ...(head ? { wU: linearsT(head) } : {}),
  };
}

/** A Llama-like family from its differences. */
export function llamaFamily(v: LlamaVariant): Family {
  return { key: v.key, architecture: v.architecture, modelType: v.modelType, parseConfig: (c) => parseConfig(v, c), tensors: llamaTensors, weights: llamaWeights };
}

export const llama = llamaFamily({
  key: 'llama',
  architecture: 'LlamaForCausalLM',
  modelType: 'llama',
  biases: (c) => {
    const attn = c.bool('attention_bias', false);
    return { qkvBias: attn, attnOutBias: attn, mlpBias: c.bool('mlp_bias', false) };
  },
  qkNorm: false,
  headDim: evenHeadDim,
  kvHeads: (nHeads) => nHeads,
  window: () => undefined,
});
