// GPT-NeoX configuration: Hugging Face config.json (both dialects) -> TransformerLens-named fields, derived
// and validated in one place (mirrors TransformerLens's HookedTransformerConfig for the NeoX family).
import type { ModelShape } from '../engine.js';
import { UserError } from '../errors.js';

/** The model's hyperparameters under the names interpretability code already speaks. */
export interface NeoXConfig {
  dModel: number;
  nHeads: number;
  dHead: number;
  nLayers: number;
  dVocab: number;
  dMlp: number;
  /** Dimensions of each head that get rotary embeddings: floor(dHead * rotary_pct) (Pythia: 0.25). */
  rotaryDim: number;
  rotaryBase: number;
  /** Pythia uses `x + attn(ln1(x)) + mlp(ln2(x))`; false means the serial `x = x + attn; x = x + mlp`. */
  parallelAttnMlp: boolean;
  lnEps: number;
  /** When true, the unembedding reuses `embed_in` (no `embed_out.weight` in the checkpoint). */
  tieEmbeddings: boolean;
  /** Attention dense and QKV layers carry biases (always true for GPT-NeoX checkpoints seen so far). */
  attentionBias: boolean;
  /** max_position_embeddings: the longest sequence the model was trained on (absent in some configs). */
  maxPositions?: number;
}

type Json = Record<string, unknown>;

/** Parses a config.json object (classic Pythia keys or newer `rope_parameters`) into a checked NeoXConfig. */
export function parseNeoXConfig(raw: unknown, file = 'config.json'): NeoXConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UserError('E_MODEL_CONFIG', `${file}: expected a JSON object, got ${describe(raw)}`);
  }
  const c = raw as Json;
  const modelType = c['model_type'];
  const archs = Array.isArray(c['architectures']) ? (c['architectures'] as unknown[]) : [];
  if (modelType !== 'gpt_neox' && !archs.includes('GPTNeoXForCausalLM')) {
    throw new UserError('E_MODEL_NOT_NEOX', `${file}: model_type: expected "gpt_neox", got ${describe(modelType)}; dreamsweep runs GPT-NeoX (Pythia) models only`);
  }
  const int = (key: string): number => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new UserError('E_MODEL_CONFIG', `${file}: ${key}: expected a positive integer, got ${describe(v)}`);
    }
    return v;
  };
  const num = (key: string, v: unknown, fallback: number): number => {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new UserError('E_MODEL_CONFIG', `${file}: ${key}: expected a number, got ${describe(v)}`);
    }
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = c[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      throw new UserError('E_MODEL_CONFIG', `${file}: ${key}: expected true or false, got ${describe(v)}`);
    }
    return v;
  };

  const dModel = int('hidden_size');
  const nHeads = int('num_attention_heads');
  const nLayers = int('num_hidden_layers');
  const dVocab = int('vocab_size');
  const dMlp = int('intermediate_size');
  if (dModel % nHeads !== 0) {
    throw new UserError('E_MODEL_CONFIG', `${file}: hidden_size (${dModel}) must be a multiple of num_attention_heads (${nHeads})`);
  }
  const dHead = dModel / nHeads;

  // Newer transformers write `rope_parameters: {rope_theta, partial_rotary_factor, rope_type}`; Pythia's own
  // files use `rotary_pct` and `rotary_emb_base`. Transformers' defaults are 0.25 and 10000.
  const rope = (typeof c['rope_parameters'] === 'object' && c['rope_parameters'] !== null ? c['rope_parameters'] : {}) as Json;
  const ropeType = rope['rope_type'] ?? (c['rope_scaling'] as Json | null | undefined)?.['rope_type'];
  if (ropeType !== undefined && ropeType !== null && ropeType !== 'default') {
    throw new UserError('E_MODEL_CONFIG', `${file}: rope_type: expected "default", got ${describe(ropeType)}; scaled rotary embeddings are not supported`);
  }
  const rotaryPct = num('partial_rotary_factor', rope['partial_rotary_factor'] ?? c['partial_rotary_factor'] ?? c['rotary_pct'], 0.25);
  const rotaryBase = num('rope_theta', rope['rope_theta'] ?? c['rope_theta'] ?? c['rotary_emb_base'], 10000);
  if (!(rotaryPct >= 0 && rotaryPct <= 1)) {
    throw new UserError('E_MODEL_CONFIG', `${file}: rotary_pct: expected a number in [0, 1], got ${rotaryPct}`);
  }
  // Transformers: int(head_size * rotary_pct); an odd count cannot be split in halves by rotate_half.
  const rotaryDim = Math.floor(dHead * rotaryPct);
  if (rotaryDim % 2 !== 0) {
    throw new UserError('E_MODEL_CONFIG', `${file}: rotary dimension floor(${dHead} * ${rotaryPct}) = ${rotaryDim} is odd; rotary needs an even count`);
  }

  const lnEps = num('layer_norm_eps', c['layer_norm_eps'], 1e-5);
  if (!(lnEps > 0)) throw new UserError('E_MODEL_CONFIG', `${file}: layer_norm_eps: expected a positive number (Pythia: 1e-5), got ${lnEps}`);
  if (!(rotaryBase > 0)) throw new UserError('E_MODEL_CONFIG', `${file}: rotary_emb_base (rope_theta): expected a positive number (Pythia: 10000), got ${rotaryBase}`);

  const act = c['hidden_act'] ?? 'gelu';
  if (act !== 'gelu') {
    throw new UserError('E_MODEL_CONFIG', `${file}: hidden_act: expected "gelu" (exact erf gelu, as Pythia), got ${describe(act)}`);
  }

  return {
    dModel,
    nHeads,
    dHead,
    nLayers,
    dVocab,
    dMlp,
    rotaryDim,
    rotaryBase,
    parallelAttnMlp: bool('use_parallel_residual', true),
    lnEps,
    tieEmbeddings: bool('tie_word_embeddings', false),
    attentionBias: bool('attention_bias', true),
    ...(c['max_position_embeddings'] !== undefined && c['max_position_embeddings'] !== null ? { maxPositions: int('max_position_embeddings') } : {}),
  };
}

/** Refuses prompts or windows longer than the model was trained for: their positions are out of distribution. */
/** The model's shape as the engine protocol reports it (core/engine.ts ModelShape). */
export function modelShape(cfg: NeoXConfig): ModelShape {
  return { nLayers: cfg.nLayers, dModel: cfg.dModel, dMlp: cfg.dMlp, dVocab: cfg.dVocab };
}

export function checkSeqLen(cfg: NeoXConfig, seqLen: number, what: string): void {
  if (cfg.maxPositions !== undefined && seqLen > cfg.maxPositions) {
    throw new UserError('E_SEQ_LEN', `${what}: ${seqLen} tokens exceeds the model's max_position_embeddings (${cfg.maxPositions}); use at most ${cfg.maxPositions}`);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (key missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return `"${v}" (string)`;
  return `${JSON.stringify(v)} (${Array.isArray(v) ? 'array' : typeof v})`;
}
