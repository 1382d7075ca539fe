// Real models' shapes as bench presets: their Hugging Face config.json contents, parsed by the model family's own
// parser (core/model/families/), so a preset never restates a family's rules. For engines that build random weights
// of a shape on the device (the torch engine), the tfjs benches' random checkpoint, and the FLOP counts the benches
// report. Pythia (EleutherAI/pythia-*), GPT-2 small, Llama 3.2 1B, Qwen 3 0.6B and 1.7B, Gemma 2 2B.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '../core/engine.js';
import type { ModelConfig } from '../core/model/config.js';
import { family, parseModelConfig } from '../core/model/families/index.js';
import { f32ToF16, type Dtype } from '../core/model/safetensors.js';
import { buildTokenizer, makeCheckpoint, seededRandom } from '../test/fixtures/make-checkpoint.js';

/** Pythia's config.json (EleutherAI/pythia-70m ... 12b): only the shapes differ. */
function pythia(hidden: number, layers: number, heads: number, vocab: number): Record<string, unknown> {
  return {
    architectures: ['GPTNeoXForCausalLM'],
    bos_token_id: 0,
    eos_token_id: 0,
    hidden_act: 'gelu',
    hidden_size: hidden,
    initializer_range: 0.02,
    intermediate_size: 4 * hidden,
    layer_norm_eps: 1e-5,
    max_position_embeddings: 2048,
    model_type: 'gpt_neox',
    num_attention_heads: heads,
    num_hidden_layers: layers,
    rotary_emb_base: 10000,
    rotary_pct: 0.25,
    tie_word_embeddings: false,
    torch_dtype: 'float16',
    use_cache: true,
    use_parallel_residual: true,
    vocab_size: vocab,
  };
}

function qwen3(hidden: number, intermediate: number): Record<string, unknown> {
  return {
    architectures: ['Qwen3ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    head_dim: 128,
    hidden_act: 'silu',
    hidden_size: hidden,
    initializer_range: 0.02,
    intermediate_size: intermediate,
    max_position_embeddings: 40960,
    max_window_layers: 28,
    model_type: 'qwen3',
    num_attention_heads: 16,
    num_hidden_layers: 28,
    num_key_value_heads: 8,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.51.0',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151936,
  };
}

export interface Preset {
  /** The Hugging Face model whose config.json this is. */
  hfId: string;
  /** config.json as published. */
  config: Record<string, unknown>;
  /** tokenizer.json's size (the embedding may be padded past it). */
  tokenizerVocab: number;
  /** Whether the tokenizer's post-processing puts a BOS before every text (Llama 3). */
  bos: boolean;
}

const PYTHIA_TOKENIZER = 50277;

export const PRESETS: Record<string, Preset> = {
  '70m': { hfId: 'EleutherAI/pythia-70m', config: pythia(512, 6, 8, 50304), tokenizerVocab: PYTHIA_TOKENIZER, bos: false },
  '160m': { hfId: 'EleutherAI/pythia-160m', config: pythia(768, 12, 12, 50304), tokenizerVocab: PYTHIA_TOKENIZER, bos: false },
  '410m': { hfId: 'EleutherAI/pythia-410m', config: pythia(1024, 24, 16, 50304), tokenizerVocab: PYTHIA_TOKENIZER, bos: false },
  '1.4b': { hfId: 'EleutherAI/pythia-1.4b', config: pythia(2048, 24, 16, 50304), tokenizerVocab: PYTHIA_TOKENIZER, bos: false },
  '2.8b': { hfId: 'EleutherAI/pythia-2.8b', config: pythia(2560, 32, 32, 50304), tokenizerVocab: PYTHIA_TOKENIZER, bos: false },
  '6.9b': { hfId: 'EleutherAI/pythia-6.9b', config: pythia(4096, 32, 32, 50432), tokenizerVocab: PYTHIA_TOKENIZER, bos: false },
  '12b': { hfId: 'EleutherAI/pythia-12b', config: pythia(5120, 36, 40, 50688), tokenizerVocab: PYTHIA_TOKENIZER, bos: false },
  gpt2: {
    hfId: 'openai-community/gpt2',
    config: {
      activation_function: 'gelu_new',
      architectures: ['GPT2LMHeadModel'],
      attn_pdrop: 0.1,
      bos_token_id: 50256,
      embd_pdrop: 0.1,
      eos_token_id: 50256,
      initializer_range: 0.02,
      layer_norm_epsilon: 1e-5,
      model_type: 'gpt2',
      n_ctx: 1024,
      n_embd: 768,
      n_head: 12,
      n_layer: 12,
      n_positions: 1024,
      resid_pdrop: 0.1,
      summary_activation: null,
      summary_first_dropout: 0.1,
      summary_proj_to_labels: true,
      summary_type: 'cls_index',
      summary_use_proj: true,
      task_specific_params: { 'text-generation': { do_sample: true, max_length: 50 } },
      vocab_size: 50257,
    },
    tokenizerVocab: 50257,
    bos: false,
  },
  'llama-3.2-1b': {
    hfId: 'meta-llama/Llama-3.2-1B',
    config: {
      architectures: ['LlamaForCausalLM'],
      attention_bias: false,
      attention_dropout: 0.0,
      bos_token_id: 128000,
      eos_token_id: 128001,
      head_dim: 64,
      hidden_act: 'silu',
      hidden_size: 2048,
      initializer_range: 0.02,
      intermediate_size: 8192,
      max_position_embeddings: 131072,
      mlp_bias: false,
      model_type: 'llama',
      num_attention_heads: 32,
      num_hidden_layers: 16,
      num_key_value_heads: 8,
      pretraining_tp: 1,
      rms_norm_eps: 1e-5,
      rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      rope_theta: 500000.0,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      transformers_version: '4.45.0.dev0',
      use_cache: true,
      vocab_size: 128256,
    },
    tokenizerVocab: 128256,
    bos: true,
  },
  // 151,643 byte-level BPE tokens and 26 added ones; the embedding is padded to 151,936.
  'qwen3-0.6b': { hfId: 'Qwen/Qwen3-0.6B', config: qwen3(1024, 3072), tokenizerVocab: 151669, bos: false },
  'qwen3-1.7b': { hfId: 'Qwen/Qwen3-1.7B', config: qwen3(2048, 6144), tokenizerVocab: 151669, bos: false },
  'gemma-2-2b': {
    hfId: 'google/gemma-2-2b',
    config: {
      architectures: ['Gemma2ForCausalLM'],
      attention_bias: false,
      attention_dropout: 0.0,
      attn_logit_softcapping: 50.0,
      bos_token_id: 2,
      cache_implementation: 'hybrid',
      eos_token_id: 1,
      final_logit_softcapping: 30.0,
      head_dim: 256,
      hidden_act: 'gelu_pytorch_tanh',
      hidden_activation: 'gelu_pytorch_tanh',
      hidden_size: 2304,
      initializer_range: 0.02,
      intermediate_size: 9216,
      max_position_embeddings: 8192,
      model_type: 'gemma2',
      num_attention_heads: 8,
      num_hidden_layers: 26,
      num_key_value_heads: 4,
      pad_token_id: 0,
      query_pre_attn_scalar: 256,
      rms_norm_eps: 1e-6,
      rope_theta: 10000.0,
      sliding_window: 4096,
      torch_dtype: 'float32',
      transformers_version: '4.42.4',
      use_cache: true,
      vocab_size: 256000,
    },
    tokenizerVocab: 256000,
    bos: true,
  },
};
export const PRESET_NAMES = Object.keys(PRESETS);

export function preset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new Error(`--preset: expected one of ${PRESET_NAMES.join(', ')}, got "${name}"`);
  return p;
}

/** A preset's ModelConfig, parsed from its config.json by its family. */
export function presetConfig(name: string): ModelConfig {
  return parseModelConfig(preset(name).config, `${preset(name).hfId}/config.json`);
}

/** Enough of a tokenizer for random weights: each whitespace-separated word is one id (a hash), 0 is special (the BOS when `bos`). */
function idTokenizer(vocabSize: number, bos = false): Tokenizer {
  const id = (word: string) => {
    let h = 2166136261;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619) >>> 0;
    return 1 + (h % (vocabSize - 1));
  };
  return {
    vocabSize,
    specialIds: new Set([0]),
    ...(bos && { bos: 0 }),
    encode: (text) => text.split(/\s+/).filter(Boolean).map(id),
    decode: (ids) => ids.join(' '),
  };
}

/** A preset's tokenizer for engines without a tokenizer.json (the torch engine's random weights). */
export function presetTokenizer(name: string): Tokenizer {
  return idTokenizer(preset(name).tokenizerVocab, preset(name).bos);
}

/**
 * Forward FLOPs per token position (2 per multiply-add): the blocks' matrices (grouped-query attention, plain or
 * gated MLP) and attention over n, plus the unembedding.
 */
export function forwardFlopsPerPosition(cfg: ModelConfig, n: number): number {
  const { dModel: d, dMlp, dVocab: V, nLayers: L, nHeads, nKvHeads, dHead } = cfg;
  const attn = d * (nHeads + 2 * nKvHeads) * dHead + nHeads * dHead * d;
  const mlp = (cfg.gatedMlp ? 3 : 2) * d * dMlp;
  return 2 * (L * (attn + mlp + n * nHeads * dHead) + d * V);
}

/**
 * The EPO benches' model: a Hugging Face checkpoint of the preset's shape in `dir`. GPT-NeoX: the fixtures' writer
 * (seeded float32 weights, a 1024-token tokenizer), as the earlier measurements used. Every other family: its
 * config.json, the tensors its family expects (names, shapes) in seeded random `dtype` as transformers initialises
 * them (matrices normal(0, 0.02), norm weights 1, biases normal(0, 0.02)), and a byte-level BPE tokenizer.json of
 * the real vocabulary size (with Llama 3's BOS post-processor where the preset has one).
 */
export function writeRandomCheckpoint(dir: string, cfg: ModelConfig, p?: Preset, dtype: Dtype = 'F16', seed = 12): void {
  if (!p || cfg.family === 'gpt_neox') {
    makeCheckpoint(dir, {
      dModel: cfg.dModel,
      nHeads: cfg.nHeads,
      nLayers: cfg.nLayers,
      dVocab: cfg.dVocab,
      tokenizerVocab: 1024,
      rotaryPct: 0.25,
      parallel: true,
      dialect: 'classic',
      dtype: 'F32',
      seed,
    });
    return;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(p.config, null, 2) + '\n');
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(paddedTokenizer(p.tokenizerVocab, p.bos)) + '\n');
  writeRandomSafetensors(join(dir, 'model.safetensors'), family(cfg.family).tensors(cfg, new Set()), dtype, seed);
}

/** The fixtures' byte-level BPE tokenizer, its vocabulary filled to `size` ids with tokens no merge makes. */
function paddedTokenizer(size: number, bos: boolean): Record<string, unknown> {
  const tok = buildTokenizer(1024);
  const model = tok['model'] as { vocab: Record<string, number> };
  for (let id = Object.keys(model.vocab).length; id < size; id++) model.vocab[`<|filler_${id}|>`] = id;
  if (bos) {
    const special = '<|endoftext|>'; // id 0
    tok['post_processor'] = {
      type: 'Sequence',
      processors: [
        tok['post_processor'],
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: special, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: special, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: special, type_id: 0 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [special]: { id: special, ids: [0], tokens: [special] } },
        },
      ],
    };
  }
  return tok;
}

/** Writes a safetensors file tensor by tensor (the header first), so the peak is one tensor, not the model. */
function writeRandomSafetensors(path: string, shapes: Map<string, number[]>, dtype: Dtype, seed: number): void {
  if (dtype === 'BF16') throw new Error('writeRandomCheckpoint: F32 or F16');
  const bytes = dtype === 'F32' ? 4 : 2;
  const names = [...shapes.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const name of names) {
    const shape = shapes.get(name)!;
    const size = shape.reduce((a, b) => a * b, 1) * bytes;
    header[name] = { dtype, shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const rand = seededRandom(seed);
  const fd = openSync(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json, 'utf8'));
    for (const name of names) {
      const shape = shapes.get(name)!;
      const count = shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(count);
      if (shape.length === 1 && !name.endsWith('.bias')) values.fill(1);
      else normalsInto(values, rand, 0.02);
      if (dtype === 'F32') writeAll(fd, new Uint8Array(values.buffer));
      else {
        const halves = new Uint16Array(count);
        for (let i = 0; i < count; i++) halves[i] = f32ToF16(values[i]!);
        writeAll(fd, new Uint8Array(halves.buffer));
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** write(2) may write less than asked (at most about 2 GiB at once). */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
}

function normalsInto(out: Float32Array, rand: () => number, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * std;
    const v = 2 * Math.PI * rand();
    out[i] = r * Math.cos(v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(v);
  }
}
