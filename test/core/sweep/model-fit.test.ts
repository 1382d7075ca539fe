// #29: `sweep launch`'s preflight says when a sweep's model is too big for the engine and device it runs on:
// parameters, memory and time per EPO unit, a warning where slow or tight, a refusal where it cannot run.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../core/model/families/index.js';
import { readConfig } from '../../../core/model/load.js';
import { parameterCount } from '../../../core/model/footprint.js';
import { modelFit, sweepModelFit } from '../../../core/sweep/model-fit.js';
import { loadSweepFile } from '../../../core/sweep/spec.js';

const GIB = 2 ** 30;
const pythia = (hidden: number, layers: number, heads: number, vocab = 50688) =>
  parseModelConfig(
    {
      architectures: ['GPTNeoXForCausalLM'],
      model_type: 'gpt_neox',
      hidden_size: hidden,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      intermediate_size: 4 * hidden,
      vocab_size: vocab,
      rotary_pct: 0.25,
      rotary_emb_base: 10000,
      use_parallel_residual: true,
      hidden_act: 'gelu',
      layer_norm_eps: 1e-5,
      max_position_embeddings: 2048,
      tie_word_embeddings: false,
    },
    'config.json',
  );
const EPO = { iters: 300, candidates: 8 * 33, seqLen: 12 };

describe('modelFit', () => {
  it("counts Pythia's parameters from config.json (70m, 1.4b, 12b)", () => {
    expect(parameterCount(pythia(512, 6, 8, 50304)) / 1e6).toBeCloseTo(70.4, 0);
    expect(parameterCount(pythia(2048, 24, 16, 50304)) / 1e9).toBeCloseTo(1.41, 2);
    expect(parameterCount(pythia(5120, 36, 40)) / 1e9).toBeCloseTo(11.85, 1);
  });

  it('refuses Pythia-12b on wasm (over its 4 GiB) and on a CPU engine with too little memory', () => {
    const wasm = modelFit(pythia(5120, 36, 40), { engine: 'tfjs', where: 'wasm', dtype: 'float32' }, EPO, 512 * GIB);
    expect(wasm.level).toBe('refuse');
    expect(wasm.line).toMatch(
      /^11\.8B parameters, 88\.\d GiB of weights in float32 on tfjs wasm, about .* per EPO unit .*: wasm's memory holds 4 GiB at most .*; run it with engine: torch/,
    );
    const cpu = modelFit(pythia(5120, 36, 40), { engine: 'torch', where: 'cpu', dtype: 'float32' }, EPO, 16 * GIB);
    expect(cpu).toMatchObject({ level: 'refuse', line: expect.stringMatching(/more than this machine's 16\.0 GiB of memory$/) });
  });

  it('refuses Qwen3-0.6B on wasm: 2.2 GiB of float32 parameters, but tfjs holds each matrix twice and the tied unembedding a third time', () => {
    const qwen = parseModelConfig(
      {
        architectures: ['Qwen3ForCausalLM'],
        model_type: 'qwen3',
        head_dim: 128,
        hidden_act: 'silu',
        hidden_size: 1024,
        intermediate_size: 3072,
        max_position_embeddings: 40960,
        num_attention_heads: 16,
        num_hidden_layers: 28,
        num_key_value_heads: 8,
        rms_norm_eps: 1e-6,
        rope_theta: 1000000,
        tie_word_embeddings: true,
        vocab_size: 151936,
      },
      'config.json',
    );
    expect(parameterCount(qwen) * 4).toBeLessThan(4 * GIB);
    const fit = modelFit(qwen, { engine: 'tfjs', where: 'wasm', dtype: 'float32' }, EPO, 512 * GIB);
    expect(fit.level).toBe('refuse');
    expect(fit.line).toMatch(/^596M parameters, 5\.\d GiB of weights in float32 on tfjs wasm.*: wasm's memory holds 4 GiB at most/);
    expect(modelFit(qwen, { engine: 'torch', where: 'cpu', dtype: 'float32' }, EPO, 512 * GIB).level).not.toBe('refuse');
  });

  it('warns where it fits but is slow or tight, and is quiet where it fits (12b on CUDA, 70m on wasm)', () => {
    const slow = modelFit(pythia(5120, 36, 40), { engine: 'torch', where: 'cpu', dtype: 'float32' }, EPO, 512 * GIB);
    expect(slow.level).toBe('warn');
    expect(slow.line).toMatch(/about \d+\.\d h per EPO unit .*: slow; engine: torch on a GPU is the place for it$/);
    // tfjs holds 1.4b's matrices twice: 10.5 GiB, over half of 16 GiB.
    const tight = modelFit(pythia(2048, 24, 16), { engine: 'tfjs', where: 'tensorflow', dtype: 'float32' }, EPO, 16 * GIB);
    expect(tight).toMatchObject({ level: 'warn', line: expect.stringMatching(/^1\.4B parameters, 10\.5 GiB .*over half of this machine's 16\.0 GiB/) });
    const gpu = modelFit(pythia(5120, 36, 40), { engine: 'torch', where: 'cuda', dtype: 'bfloat16' }, EPO, 8 * GIB);
    expect(gpu.level).toBe('ok');
    expect(gpu.line).toMatch(/^11\.8B parameters, 22\.1 GiB of weights in bfloat16 on torch cuda, about 45 s per EPO unit \(0\.15 s per iteration, estimated\)$/);
    expect(modelFit(pythia(512, 6, 8, 50304), { engine: 'tfjs', where: 'wasm', dtype: 'float32' }, EPO, 8 * GIB).level).toBe('ok');
  });

  it("gives the smoke sweep's tiny model an ok line naming the sweep file, the model and where it runs", () => {
    const spec = loadSweepFile(path.resolve('sweeps/smoke.yaml'));
    const fit = sweepModelFit(spec, readConfig(spec.model.path), { engine: 'tfjs', where: 'wasm', dtype: 'float32' });
    expect(fit.level).toBe('ok');
    expect(fit.line).toContain(`${spec.source}: model ${spec.model.path}: `);
    expect(fit.line).toMatch(/on tfjs wasm, about \d+ s per EPO unit/);
  });
});
