// The model configuration every family parses its Hugging Face config.json into (TransformerLens names), and the
// small readers the families share. The same object goes to the torch engine as JSON (torch-engine.ts).
import type { ModelShape } from '../engine.js';
import { UserError } from '../errors.js';

/** The registry's keys (families/index.ts). */
export type FamilyKey = 'gpt_neox' | 'gpt2' | 'llama' | 'qwen2' | 'qwen3' | 'mistral' | 'gemma2' | 'gemma3';

/** llama3 scaling of the rotary inverse frequencies (transformers' _compute_llama3_parameters). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

/** Linear scaling (transformers' _compute_linear_scaling_rope_parameters): inverse frequencies divided by factor. */
export interface LinearRopeScaling {
  type: 'linear';
  factor: number;
}

export type RopeScaling = Llama3RopeScaling | LinearRopeScaling;

/** An attention layer's kind: full causal attention, or a sliding window of `slidingWindow` keys. */
export type LayerType = 'full' | 'sliding';

/** A model's hyperparameters, whatever its family: what the forward pass and both engines read. */
export interface ModelConfig {
  family: FamilyKey;
  /** Hugging Face architectures[0] (or implied by model_type), e.g. 'LlamaForCausalLM'. */
  architecture: string;
  dModel: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); nHeads when every query head has its own. */
  nKvHeads: number;
  /** Not always dModel / nHeads (Qwen 3, some Llamas). */
  dHead: number;
  nLayers: number;
  /** The embedding's rows: may exceed the tokenizer's ids (padded vocabularies). */
  dVocab: number;
  dMlp: number;
  /** LN: LayerNorm (weight and bias, biased variance); RMS: x * rsqrt(mean(x^2) + eps) * w, in float32. */
  normalization: 'LN' | 'RMS';
  eps: number;
  positional: 'rotary' | 'learned';
  /** The learned position table's rows (GPT-2's n_positions). */
  nCtx?: number;
  /** Dimensions of each head that rotate (rotate_half convention); 0 for learned positions. */
  rotaryDim: number;
  rotaryBase: number;
  /** The inverse frequencies' scaling (full-attention layers only when localRotaryBase is given). */
  ropeScaling?: RopeScaling;
  /** gelu: exact (erf); gelu_new: the tanh approximation. */
  act: 'gelu' | 'gelu_new' | 'silu';
  /** down(act(gate(x)) * up(x)) rather than out(act(in(x))). */
  gatedMlp: boolean;
  /** Pythia's x + attn(ln1(x)) + mlp(ln2(x)); false: the serial h = x + attn(ln1(x)); h + mlp(ln2(h)). */
  parallelAttnMlp: boolean;
  qkvBias: boolean;
  attnOutBias: boolean;
  mlpBias: boolean;
  /** Qwen 3: per-head RMSNorm (weight [dHead]) of queries and keys before rotary. */
  qkNorm: boolean;
  /** The unembedding is the embedding's transpose (the checkpoint may lack lm_head). */
  tieEmbeddings: boolean;
  /** The longest sequence the model may see (max_position_embeddings, or less: a sliding window, n_positions). */
  maxPositions?: number;
  // Gemma 2 / 3 (absent: off).
  /** Embeddings times sqrt(dModel), that factor rounded to float32 (the one-hot path too). */
  embedScale?: boolean;
  /** Every RMSNorm (q/k norms too) multiplies by (1 + w) rather than w (the loader folds the 1 into the weights). */
  normPlusOne?: boolean;
  /** h = x + postAttnNorm(attn(ln1(x))); out = h + postMlpNorm(mlp(ln2(h))): norms after attention and the MLP too. */
  postNorms?: boolean;
  /** Attention scores times this (Gemma: query_pre_attn_scalar ** -0.5); absent: 1 / sqrt(dHead). */
  attnScale?: number;
  /** Attention scores -> tanh(s / c) * c before the mask (Gemma 2's attn_logit_softcapping). */
  attnSoftcap?: number;
  /** Logits -> tanh(l / c) * c: everything downstream (CE, the logit objective, gradients) sees capped logits. */
  finalSoftcap?: number;
  /** On sliding layers key j is visible from query i iff i - W < j <= i (W keys, the query's own included). */
  slidingWindow?: number;
  /** One per layer; absent: every layer full. */
  layerTypes?: LayerType[];
  /** Sliding layers' rotary base, without scaling (Gemma 3); full layers use rotaryBase and ropeScaling. */
  localRotaryBase?: number;
}

/** Layer l's attention kind. */
export function layerType(cfg: Pick<ModelConfig, 'layerTypes'>, l: number): LayerType {
  return cfg.layerTypes?.[l] ?? 'full';
}

/** The model's shape as the engine protocol reports it (core/engine.ts ModelShape). */
export function modelShape(cfg: ModelConfig): ModelShape {
  return { nLayers: cfg.nLayers, dModel: cfg.dModel, dMlp: cfg.dMlp, dVocab: cfg.dVocab };
}

/**
 * Refuses prompts or windows longer than the model was trained for: their positions are out of distribution. A row
 * of `seqLen` text tokens takes one position more where the tokenizer puts a BOS before it (core/model/bos.ts
 * withBos); `tokenizer` is the model's, or `{}` for rows counted as the engine computes them (the BOS in them).
 */
export function checkSeqLen(cfg: ModelConfig, seqLen: number, what: string, tokenizer: { bos?: number }): void {
  const bos = tokenizer.bos === undefined ? 0 : 1;
  if (cfg.maxPositions !== undefined && seqLen + bos > cfg.maxPositions) {
    const tokens = bos ? `${seqLen} tokens and the tokenizer's BOS exceed` : `${seqLen} tokens exceeds`;
    throw new UserError('E_SEQ_LEN', `${what}: ${tokens} the model's ${cfg.maxPositions} positions (config.json); use at most ${cfg.maxPositions - bos}`);
  }
}

export type Json = Record<string, unknown>;

/** Typed reads of one config.json object; every failure is an E_MODEL_CONFIG naming the file and the key. */
export class ConfigReader {
  constructor(
    readonly raw: Json,
    readonly file: string,
  ) {}

  fail(key: string, what: string): UserError {
    return new UserError('E_MODEL_CONFIG', `${this.file}: ${key}: ${what}`);
  }

  /** A positive integer; `fallback` when the key is absent or null (none: required). */
  int(key: string, fallback?: number): number {
    const v = this.raw[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw this.fail(key, `expected a positive integer, got ${describe(v)}`);
    return v;
  }

  /** A finite number (`v` when given: a value read from elsewhere, e.g. inside rope_parameters). */
  num(key: string, fallback: number, v: unknown = this.raw[key]): number {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.fail(key, `expected a number, got ${describe(v)}`);
    return v;
  }

  /** A positive number. */
  positive(key: string, fallback: number, v: unknown = this.raw[key]): number {
    const n = this.num(key, fallback, v);
    if (!(n > 0)) throw this.fail(key, `expected a positive number, got ${n}`);
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw this.fail(key, `expected true or false, got ${describe(v)}`);
    return v;
  }

  /** A key that must be absent, null or one of `allowed` (a feature dreamsweep does not implement otherwise). */
  only(key: string, allowed: unknown[], why: string): void {
    const v = this.raw[key];
    if (v === undefined || v === null || allowed.includes(v)) return;
    throw this.fail(key, `expected ${allowed.map((a) => JSON.stringify(a)).join(' or ')}, got ${describe(v)}; ${why}`);
  }

  /** hidden_act (or another key) as one of the activations the MLP implements. */
  act(key: string, fallback: ModelConfig['act'], allowed: Array<ModelConfig['act']>): ModelConfig['act'] {
    const v = this.raw[key] ?? fallback;
    // transformers' names for the same functions: gelu_pytorch_tanh is gelu_new's formula, swish is silu.
    const name = v === 'gelu_pytorch_tanh' ? 'gelu_new' : v === 'swish' ? 'silu' : v;
    if (typeof name === 'string' && (allowed as string[]).includes(name)) return name as ModelConfig['act'];
    throw this.fail(key, `expected ${allowed.map((a) => `"${a}"`).join(' or ')}, got ${describe(v)}`);
  }

  /**
   * Rotary settings in both dialects: transformers 5's `rope_parameters` {rope_type, rope_theta,
   * partial_rotary_factor, ...}, or 4's top-level `rope_theta` / `rope_scaling` (and `aliases`, e.g. Pythia's
   * rotary_emb_base and rotary_pct). Supported: the default rope type and the scalings in `allowed` (llama3 unless
   * the family says otherwise).
   */
  rope(
    defaults: { base: number; partial: number },
    aliases: { base?: string; partial?: string } = {},
    allowed: Array<RopeScaling['type']> = ['llama3'],
  ): { base: number; partial: number; scaling?: RopeScaling } {
    const params = this.object('rope_parameters');
    const scaling = this.object('rope_scaling');
    const base = this.positive('rope_theta', defaults.base, params?.['rope_theta'] ?? this.raw['rope_theta'] ?? (aliases.base ? this.raw[aliases.base] : undefined));
    const partial = this.num(
      'partial_rotary_factor',
      defaults.partial,
      params?.['partial_rotary_factor'] ?? this.raw['partial_rotary_factor'] ?? (aliases.partial ? this.raw[aliases.partial] : undefined),
    );
    if (!(partial >= 0 && partial <= 1)) throw this.fail('partial_rotary_factor', `expected a number in [0, 1], got ${partial}`);
    const s = this.ropeScaling(params ?? scaling ?? {}, params ? 'rope_parameters' : 'rope_scaling', allowed);
    return { base, partial, ...(s ? { scaling: s } : {}) };
  }

  /**
   * The scaling an object of rope settings names (`key`: where it sits, for messages): none for the default rope
   * type, else one of `allowed` (the family's); any other type is refused.
   */
  ropeScaling(p: Json, key: string, allowed: Array<RopeScaling['type']>): RopeScaling | undefined {
    const type = p['rope_type'] ?? p['type'] ?? 'default';
    if (type === 'default') return undefined;
    if (!(allowed as unknown[]).includes(type)) {
      const names = ['default', ...allowed].map((a) => `"${a}"`).join(' or ');
      throw this.fail(
        key === 'rope_parameters' || key === 'rope_scaling' ? 'rope_type' : `${key}.rope_type`,
        `expected ${names}, got ${describe(type)}; other scaled rotary embeddings are not supported`,
      );
    }
    const field = (name: string, what: string) => {
      const v = p[name];
      if (typeof v !== 'number' || !(v > 0)) throw this.fail(`${key}.${name}`, `expected a positive number (${what} rope scaling), got ${describe(v)}`);
      return v;
    };
    if (type === 'linear') return { type: 'linear', factor: field('factor', 'linear') };
    const out: Llama3RopeScaling = {
      type: 'llama3',
      factor: field('factor', 'llama3'),
      lowFreqFactor: field('low_freq_factor', 'llama3'),
      highFreqFactor: field('high_freq_factor', 'llama3'),
      originalMaxPositions: field('original_max_position_embeddings', 'llama3'),
    };
    if (!(out.highFreqFactor > out.lowFreqFactor)) throw this.fail(`${key}.high_freq_factor`, `must exceed low_freq_factor (${out.lowFreqFactor}), got ${out.highFreqFactor}`);
    return out;
  }

  /** An object-valued key, or undefined when absent or null. */
  object(key: string): Json | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw this.fail(key, `expected an object, got ${describe(v)}`);
    return v as Json;
  }
}

/** A value as an error message shows it. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (key missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return `"${v}" (string)`;
  return `${JSON.stringify(v)} (${Array.isArray(v) ? 'array' : typeof v})`;
}
