// Loading a model directory: each broken input is a UserError with a stable code whose message names the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, truncateSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint, readTokenizer } from '../../../core/model/load.js';
import { parseModelConfig } from '../../../core/model/families/index.js';
import { readSafetensors, writeSafetensors } from '../../../core/model/safetensors.js';
import { FIXTURES, makeCheckpoint, type CheckpointSpec } from '../../fixtures/make-checkpoint.js';
import { isUserError } from '../../../core/errors.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'dreamsweep-load-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function fixture(spec: Partial<CheckpointSpec> = {}): string {
  const dir = join(root, `m${counter++}`);
  makeCheckpoint(dir, { ...FIXTURES['tiny-parallel']!, dModel: 16, nHeads: 2, ...spec });
  return dir;
}

function load(dir: string): void {
  const ck = readCheckpoint(dir);
  readTokenizer(dir, ck.cfg);
}

function expectUserError(fn: () => void, code: string, file: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isUserError(caught), String(caught)).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
  expect((caught as Error).message).toContain(file);
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const path = join(dir, 'config.json');
  const c = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(c);
  writeFileSync(path, JSON.stringify(c));
}

describe('loading a model directory', () => {
  it('loads a well-formed checkpoint in either config dialect', () => {
    for (const dialect of ['classic', 'rope'] as const) {
      const ck = readCheckpoint(fixture({ dialect, rotaryPct: 0.5, rotaryBase: 1234 }));
      expect(ck.cfg).toMatchObject({ dModel: 16, nHeads: 2, dHead: 8, rotaryDim: 4, rotaryBase: 1234, dMlp: 64 });
    }
  });

  it('names config.json when it is missing', () => {
    const dir = fixture();
    unlinkSync(join(dir, 'config.json'));
    expectUserError(() => load(dir), 'E_MODEL_MISSING_FILE', join(dir, 'config.json'));
  });

  it('names tokenizer.json when it is missing', () => {
    const dir = fixture();
    unlinkSync(join(dir, 'tokenizer.json'));
    expectUserError(() => load(dir), 'E_MODEL_MISSING_FILE', join(dir, 'tokenizer.json'));
  });

  it('names model.safetensors when there are no weights', () => {
    const dir = fixture();
    unlinkSync(join(dir, 'model.safetensors'));
    expectUserError(() => load(dir), 'E_MODEL_MISSING_FILE', join(dir, 'model.safetensors'));
  });

  it('names the missing shard of a sharded checkpoint', () => {
    const dir = fixture({ shards: 2 });
    unlinkSync(join(dir, 'model-00002-of-00002.safetensors'));
    expectUserError(() => load(dir), 'E_MODEL_MISSING_FILE', 'model-00002-of-00002.safetensors');
  });

  it('rejects an architecture it does not run, listing those it does', () => {
    const dir = fixture();
    editConfig(dir, (c) => {
      c['model_type'] = 'bert';
      c['architectures'] = ['BertForMaskedLM'];
    });
    expectUserError(() => load(dir), 'E_MODEL_ARCH', join(dir, 'config.json'));
    expect(() => load(dir)).toThrow(/GPTNeoXForCausalLM, GPT2LMHeadModel, LlamaForCausalLM/);
  });

  it('rejects an unsupported dtype, naming the weights file', () => {
    const dir = fixture();
    const path = join(dir, 'model.safetensors');
    const header = JSON.stringify({ 'gpt_neox.embed_in.weight': { dtype: 'F64', shape: [1], data_offsets: [0, 8] } });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(path, Buffer.concat([len, Buffer.from(header), Buffer.alloc(8)]));
    expectUserError(() => load(dir), 'E_MODEL_DTYPE', path);
  });

  it('rejects a tensor whose shape disagrees with config.json', () => {
    const dir = fixture();
    editConfig(dir, (c) => {
      c['intermediate_size'] = 80;
    });
    expectUserError(() => load(dir), 'E_MODEL_SHAPE', join(dir, 'model.safetensors'));
  });

  it('rejects a truncated safetensors file', () => {
    const dir = fixture();
    const path = join(dir, 'model.safetensors');
    truncateSync(path, statSync(path).size - 100);
    expectUserError(() => load(dir), 'E_MODEL_TRUNCATED', path);
  });

  it('rejects a tokenizer with more ids than the model can embed', () => {
    const dir = fixture({ dVocab: 290, tokenizerVocab: 300 });
    expectUserError(() => load(dir), 'E_TOKENIZER_VOCAB', join(dir, 'tokenizer.json'));
  });
});

describe('the config parser', () => {
  it('reads rotary settings from both dialects and defaults like transformers', () => {
    const base = { model_type: 'gpt_neox', hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 10, intermediate_size: 256 };
    expect(parseModelConfig(base)).toMatchObject({ rotaryDim: 4, rotaryBase: 10000, parallelAttnMlp: true, eps: 1e-5, tieEmbeddings: false });
    expect(parseModelConfig({ ...base, rotary_pct: 1, rotary_emb_base: 5 })).toMatchObject({ rotaryDim: 16, rotaryBase: 5 });
    expect(parseModelConfig({ ...base, rope_parameters: { rope_type: 'default', partial_rotary_factor: 0.5, rope_theta: 7 } })).toMatchObject({
      rotaryDim: 8,
      rotaryBase: 7,
    });
  });

  it('rejects a hidden size that the heads do not divide and a non-gelu activation', () => {
    const base = { model_type: 'gpt_neox', hidden_size: 64, num_attention_heads: 5, num_hidden_layers: 2, vocab_size: 10, intermediate_size: 256 };
    expect(() => parseModelConfig(base)).toThrow(/num_attention_heads/);
    expect(() => parseModelConfig({ ...base, num_attention_heads: 4, hidden_act: 'relu' })).toThrow(/hidden_act/);
  });
});

describe('the safetensors writer and reader', () => {
  it('round-trips F32 exactly and F16/BF16 to their precision', () => {
    const data = Float32Array.from([0, 1, -2.5, 3.14159, 1e-6, 65504, -1e-3]);
    const path = join(root, 'rt.safetensors');
    writeSafetensors(path, {
      a: { shape: [7], data, dtype: 'F32' },
      b: { shape: [7], data, dtype: 'F16' },
      c: { shape: [1, 7], data, dtype: 'BF16' },
    });
    const back = readSafetensors(path);
    expect(Array.from(back.get('a')!.data)).toEqual(Array.from(data));
    expect(back.get('c')!.shape).toEqual([1, 7]);
    for (const [name, rel] of [
      ['b', 1e-3],
      ['c', 8e-3],
    ] as const) {
      back.get(name)!.data.forEach((v, i) => expect(Math.abs(v - data[i]!)).toBeLessThanOrEqual(rel * Math.abs(data[i]!) + 1e-7));
    }
  });
});
