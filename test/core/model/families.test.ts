// The family registry and each family's config parser (both rotary dialects, refusals naming the key), and the
// checkpoint variants the goldens do not cover (GPT-2's `transformer.` prefix, an untied GPT-2 without lm_head).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUserError } from '../../../core/errors.js';
import { parseModelConfig } from '../../../core/model/families/index.js';
import { attentionContext } from '../../../core/model/attention.js';
import { readCheckpoint } from '../../../core/model/load.js';
import { inverseFrequencies } from '../../../core/model/rotary.js';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../../core/model/safetensors.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { MODELS } from './helpers.js';

const config = (name: string) => JSON.parse(readFileSync(join(MODELS, name, 'config.json'), 'utf8')) as Record<string, unknown>;

function userError(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    expect(isUserError(e), String(e)).toBe(true);
    return e as { code: string; message: string };
  }
  throw new Error('expected a UserError');
}

describe('the family registry', () => {
  it.each([
    ['tiny-parallel', 'gpt_neox', 'GPTNeoXForCausalLM'],
    ['tiny-gpt2', 'gpt2', 'GPT2LMHeadModel'],
    ['tiny-llama3', 'llama', 'LlamaForCausalLM'],
    ['tiny-qwen2-bf16', 'qwen2', 'Qwen2ForCausalLM'],
    ['tiny-qwen3', 'qwen3', 'Qwen3ForCausalLM'],
    ['tiny-mistral-f16', 'mistral', 'MistralForCausalLM'],
    ['tiny-gemma2', 'gemma2', 'Gemma2ForCausalLM'],
    ['tiny-gemma3', 'gemma3', 'Gemma3ForCausalLM'],
  ])('reads %s as %s by its architecture, or by model_type when none is listed', (name, family, architecture) => {
    expect(parseModelConfig(config(name))).toMatchObject({ family, architecture });
    const { architectures: _, ...bare } = config(name);
    expect(parseModelConfig(bare)).toMatchObject({ family, architecture });
  });

  it('refuses an architecture it does not run in one line that lists those it does', () => {
    const e = userError(() => parseModelConfig({ ...config('tiny-llama3'), architectures: ['LlamaForSequenceClassification'] }, 'x/config.json'));
    expect(e.code).toBe('E_MODEL_ARCH');
    expect(e.message).toBe(
      'x/config.json: architectures: "LlamaForSequenceClassification" (string) is not supported; dreamsweep runs GPTNeoXForCausalLM, GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM',
    );
    expect(userError(() => parseModelConfig({ model_type: 'gemma' })).code).toBe('E_MODEL_ARCH');
    expect(userError(() => parseModelConfig({ ...config('tiny-gemma3'), architectures: ['Gemma3ForConditionalGeneration'] })).code).toBe('E_MODEL_ARCH');
  });
});

describe('the Llama-like config parsers', () => {
  const llama3 = config('tiny-llama3');
  const { rope_parameters: rope, ...rest } = llama3 as { rope_parameters: Record<string, unknown> } & Record<string, unknown>;

  it('read llama3 rope scaling from transformers 5 rope_parameters and 4 rope_theta / rope_scaling alike', () => {
    const v5 = parseModelConfig(llama3);
    expect(v5).toMatchObject({
      nHeads: 4,
      nKvHeads: 2,
      dHead: 16,
      rotaryDim: 16,
      rotaryBase: 500000,
      ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 },
      normalization: 'RMS',
      gatedMlp: true,
      act: 'silu',
      qkvBias: false,
    });
    const { rope_theta: theta, ...scaling } = rope;
    expect(parseModelConfig({ ...rest, rope_theta: theta, rope_scaling: scaling })).toEqual(v5);
    expect(parseModelConfig({ ...rest, rope_theta: theta, rope_scaling: { ...scaling, rope_type: undefined, type: 'llama3' } })).toEqual(v5);
  });

  it('scale the low frequencies by factor and keep the high ones, as _compute_llama3_parameters', () => {
    const cfg = parseModelConfig(llama3);
    const plain = inverseFrequencies({ ...cfg, ropeScaling: undefined });
    const scaled = inverseFrequencies(cfg);
    expect(scaled[0]).toBe(plain[0]); // wavelength 2*pi: high frequency
    expect(scaled[7]).toBe(Math.fround(plain[7]! / 8)); // longest wavelength: divided by factor
  });

  it('refuse what they do not implement, naming the key', () => {
    expect(userError(() => parseModelConfig({ ...rest, rope_parameters: { rope_type: 'yarn', rope_theta: 1e4, factor: 4 } })).message).toMatch(/rope_type: .*"yarn"/);
    expect(userError(() => parseModelConfig({ ...rest, rope_parameters: { ...rope, factor: undefined } })).message).toMatch(/rope_parameters.factor/);
    expect(userError(() => parseModelConfig({ ...rest, partial_rotary_factor: 0.5 })).message).toMatch(/partial_rotary_factor/);
    expect(userError(() => parseModelConfig({ ...llama3, num_key_value_heads: 3 })).message).toMatch(/num_key_value_heads/);
    expect(userError(() => parseModelConfig({ ...llama3, hidden_act: 'relu' })).message).toMatch(/hidden_act/);
    expect(userError(() => parseModelConfig({ ...config('tiny-gpt2'), scale_attn_by_inverse_layer_idx: true })).message).toMatch(/scale_attn_by_inverse_layer_idx/);
  });

  it('take each family its defaults and fields: Qwen 2 q/k/v biases, Qwen 3 q/k norm and head_dim 128, Mistral windows', () => {
    expect(parseModelConfig(config('tiny-qwen2-bf16'))).toMatchObject({ qkvBias: true, attnOutBias: false, tieEmbeddings: true, dVocab: 340 });
    expect(parseModelConfig(config('tiny-qwen3'))).toMatchObject({ qkNorm: true, dHead: 24, qkvBias: false });
    const { head_dim: _, ...noHeadDim } = config('tiny-qwen3');
    expect(parseModelConfig(noHeadDim)).toMatchObject({ dHead: 128 });
    expect(parseModelConfig(config('tiny-mistral-f16'))).toMatchObject({ rotaryBase: 1e6, maxPositions: 64, qkvBias: false });
    expect(parseModelConfig({ ...config('tiny-mistral-f16'), sliding_window: 16 })).toMatchObject({ maxPositions: 16 });
    expect(parseModelConfig({ ...config('tiny-qwen2-bf16'), use_sliding_window: true, sliding_window: 16 })).toMatchObject({ maxPositions: 16 });
  });
});

describe('the Gemma config parsers', () => {
  const gemma2 = config('tiny-gemma2'); // transformers 5: layer_types, flat rope_parameters
  const gemma3 = config('tiny-gemma3'); // transformers 5: rope_parameters per layer type, _sliding_window_pattern
  const without = (c: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(Object.entries(c).filter(([k]) => !keys.includes(k)));

  it('read Gemma 2 in both dialects: soft-caps, query_pre_attn_scalar, alternating sliding layers', () => {
    const v5 = parseModelConfig(gemma2);
    expect(v5).toMatchObject({
      family: 'gemma2',
      dHead: 24,
      nKvHeads: 2,
      act: 'gelu_new',
      gatedMlp: true,
      tieEmbeddings: true,
      embedScale: true,
      normPlusOne: true,
      postNorms: true,
      attnScale: 40 ** -0.5,
      attnSoftcap: 4,
      finalSoftcap: 5,
      slidingWindow: 4,
      layerTypes: ['sliding', 'full', 'sliding', 'full'],
      rotaryBase: 10000,
      qkNorm: false,
    });
    expect(v5.localRotaryBase).toBeUndefined();
    expect(v5.ropeScaling).toBeUndefined();
    // transformers 4 (the Hub's files): rope_theta at the top level, no layer_types (layer i sliding iff i is even).
    expect(parseModelConfig({ ...without(gemma2, 'layer_types', 'rope_parameters'), rope_theta: 10000 })).toEqual(v5);
    expect(parseModelConfig(config('tiny-gemma2-bf16'))).toMatchObject({
      layerTypes: ['sliding', 'full'],
      slidingWindow: 3,
      attnSoftcap: 3,
      finalSoftcap: 4,
      attnScale: 12 ** -0.5,
    });
    // Absent soft-cap keys take transformers' Gemma2Config defaults; null turns them off.
    expect(parseModelConfig(without(gemma2, 'attn_logit_softcapping', 'final_logit_softcapping'))).toMatchObject({ attnSoftcap: 50, finalSoftcap: 30 });
    const off = parseModelConfig({ ...gemma2, attn_logit_softcapping: null, final_logit_softcapping: null });
    expect([off.attnSoftcap, off.finalSoftcap]).toEqual([undefined, undefined]);
  });

  it('read Gemma 3 in both dialects: q/k norms, linear-scaled global rotary, an unscaled local base', () => {
    const v5 = parseModelConfig(gemma3);
    expect(v5).toMatchObject({
      family: 'gemma3',
      architecture: 'Gemma3ForCausalLM',
      qkNorm: true,
      dHead: 32,
      attnScale: 20 ** -0.5,
      rotaryBase: 1e6,
      ropeScaling: { type: 'linear', factor: 8 },
      localRotaryBase: 10000,
      slidingWindow: 4,
      layerTypes: ['sliding', 'sliding', 'full', 'sliding'], // not _sliding_window_pattern's 6
    });
    expect([v5.attnSoftcap, v5.finalSoftcap]).toEqual([undefined, undefined]);
    // transformers 4: rope_theta and rope_scaling (global), rope_local_base_freq, sliding_window_pattern.
    const v4 = {
      ...without(gemma3, 'layer_types', 'rope_parameters', '_sliding_window_pattern'),
      rope_theta: 1e6,
      rope_scaling: { rope_type: 'linear', factor: 8 },
      rope_local_base_freq: 10000,
      sliding_window_pattern: 3,
    };
    expect(parseModelConfig(v4)).toEqual(v5);
    expect(parseModelConfig(without(v4, 'sliding_window_pattern'))).toMatchObject({ layerTypes: ['sliding', 'sliding', 'sliding', 'sliding'] }); // default 6
    expect(parseModelConfig(config('tiny-gemma3-bf16'))).toMatchObject({ layerTypes: ['sliding', 'full'], rotaryBase: 1e6, localRotaryBase: 10000, slidingWindow: 3 });
    expect(parseModelConfig(config('tiny-gemma3-bf16')).ropeScaling).toBeUndefined();
  });

  it('divide the inverse frequencies by factor for linear scaling', () => {
    const cfg = parseModelConfig(gemma3);
    const plain = inverseFrequencies({ ...cfg, ropeScaling: undefined });
    inverseFrequencies(cfg).forEach((f, i) => expect(f).toBe(Math.fround(plain[i]! / 8)));
  });

  it('refuse what they do not implement, naming the key', () => {
    const bad = (c: Record<string, unknown>) => userError(() => parseModelConfig(c, 'm/config.json'));
    for (const v of [0, -5, '30', true]) {
      expect(bad({ ...gemma2, final_logit_softcapping: v })).toMatchObject({
        code: 'E_MODEL_CONFIG',
        message: expect.stringMatching(/^m\/config\.json: final_logit_softcapping: expected a positive number/),
      });
      expect(bad({ ...gemma2, attn_logit_softcapping: v }).message).toMatch(/: attn_logit_softcapping: expected a positive number/);
    }
    expect(bad({ ...gemma2, layer_types: ['sliding_attention', 'full_attention'] }).message).toMatch(/layer_types: expected 4 entries \(one per layer, num_hidden_layers\), got 2/);
    expect(bad({ ...gemma2, layer_types: 'sliding_attention' }).message).toMatch(/layer_types: expected a list/);
    expect(bad({ ...gemma2, layer_types: ['sliding_attention', 'chunked_attention', 'full_attention', 'full_attention'] }).message).toMatch(
      /layer_types\[1\]: expected "sliding_attention" or "full_attention", got "chunked_attention"/,
    );
    expect(bad({ ...gemma2, query_pre_attn_scalar: 0 }).message).toMatch(/query_pre_attn_scalar: expected a positive number/);
    expect(bad({ ...gemma2, sliding_window: 0 }).message).toMatch(/sliding_window: expected a positive integer/);
    expect(bad({ ...gemma2, rope_parameters: { rope_type: 'llama3', rope_theta: 1e4, factor: 8 } }).message).toMatch(/rope_type: expected "default" or "linear", got "llama3"/);
    expect(bad({ ...gemma2, hidden_activation: 'relu' }).message).toMatch(/hidden_activation/);
    expect(bad({ ...gemma2, num_key_value_heads: 3 }).message).toMatch(/num_key_value_heads/);
    const rope = gemma3['rope_parameters'] as Record<string, Record<string, unknown>>;
    expect(bad({ ...gemma3, rope_parameters: { ...rope, sliding_attention: { rope_type: 'linear', factor: 2, rope_theta: 1e4 } } }).message).toMatch(
      /rope_parameters\.sliding_attention\.rope_type: expected "default", got "linear"/,
    );
    expect(bad({ ...gemma3, rope_parameters: { ...rope, full_attention: { rope_type: 'yarn', factor: 2, rope_theta: 1e6 } } }).message).toMatch(
      /rope_parameters\.full_attention\.rope_type/,
    );
    expect(bad({ ...gemma3, rope_parameters: { ...rope, full_attention: { rope_type: 'linear', rope_theta: 1e6 } } }).message).toMatch(/rope_parameters\.full_attention\.factor/);
    expect(bad({ ...gemma3, rope_parameters: { ...rope, full_attention: 7 } }).message).toMatch(/rope_parameters\.full_attention: expected an object/);
    expect(bad({ ...gemma3, use_bidirectional_attention: true }).message).toMatch(/use_bidirectional_attention/);
    expect(bad({ ...without(gemma3, 'layer_types'), sliding_window_pattern: 0 }).message).toMatch(/sliding_window_pattern/);
  });

  it('mask a sliding layer to its window of keys, the query own included, at absolute positions', async () => {
    const mask = async (type: 'full' | 'sliding') =>
      (await attentionContext({ rotaryDim: 0, rotaryBase: 1, slidingWindow: 3 }, 6, type).mask.array()).map((row) => row.map((v) => (v === 0 ? 1 : 0)));
    expect(await mask('sliding')).toEqual([
      [1, 0, 0, 0, 0, 0],
      [1, 1, 0, 0, 0, 0],
      [1, 1, 1, 0, 0, 0],
      [0, 1, 1, 1, 0, 0],
      [0, 0, 1, 1, 1, 0],
      [0, 0, 0, 1, 1, 1],
    ]);
    expect((await mask('full'))[5]).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('GPT-2 checkpoints', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'dreamsweep-gpt2-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** tiny-gpt2 with its tensors renamed and config edited. */
  function variant(dir: string, rename: (name: string) => string, edit: (c: Record<string, unknown>) => void = () => {}): string {
    const out = join(root, dir);
    const src = join(MODELS, 'tiny-gpt2');
    mkdirSync(out);
    const tensors = new Map<string, TensorToWrite>();
    for (const [name, t] of readSafetensors(join(src, 'model.safetensors'))) tensors.set(rename(name), t);
    const c = config('tiny-gpt2');
    edit(c);
    writeSafetensors(join(out, 'model.safetensors'), tensors);
    writeFileSync(join(out, 'config.json'), JSON.stringify(c));
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(out, f));
    return out;
  }

  it('load with or without the transformer. prefix, to the same numbers', async () => {
    const ids = [[3, 4, 5, 6, 7]];
    const run = async (dir: string) => {
      const e = await TfjsEngine.load(dir, { backend: 'cpu' });
      try {
        return (await e.taps(ids, ['logits', 'mlp_out.1'])).values;
      } finally {
        e.dispose();
      }
    };
    const bare = variant('bare', (n) => n.replace(/^transformer\./, '')); // the fixture has the prefix
    expect(await run(bare)).toEqual(await run(join(MODELS, 'tiny-gpt2')));
  });

  it('need lm_head when untied, and refuse more positions than wpe has', async () => {
    const untied = variant(
      'untied',
      (n) => n,
      (c) => (c['tie_word_embeddings'] = false),
    );
    expect(userError(() => readCheckpoint(untied)).code).toBe('E_MODEL_MISSING_TENSOR');
    const e = await TfjsEngine.load(join(MODELS, 'tiny-gpt2'), { backend: 'cpu' });
    try {
      await expect(e.evaluate([Array.from({ length: 33 }, () => 5)], { kind: 'logit', token: 1 })).rejects.toMatchObject({ code: 'E_SEQ_LEN' });
    } finally {
      e.dispose();
    }
  });
});
