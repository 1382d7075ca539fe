// The BOS rule (core/model/bos.ts): every row an engine computes starts with the tokenizer's BOS; callers never
// see it (top-k, gradients and prefix hints are shifted back), and engines of tokenizers without one are unchanged.
import { describe, expect, it } from 'vitest';
import type { Engine, EvaluateOptions, GradientOptions, Objective, TapOptions, Tokenizer } from '../../../core/engine.js';
import { join } from 'node:path';
import { rawEngine, withBos } from '../../../core/model/bos.js';
import { checkModelSeqLen, readConfig } from '../../../core/model/load.js';
import { HfJsonTokenizer } from '../../../core/model/tokenizer.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { epo } from '../../../core/epo/epo.js';
import { MODELS, readGolden, scaledMaxDiff } from './helpers.js';

const V = 5;
const objective: Objective = { kind: 'logit', token: 1 };

/** Records what it was asked; answers gradients with top-k / grads that name their own (row, position). */
function recorder(bos?: number) {
  const calls: Array<{ op: string; ids: number[][]; options?: EvaluateOptions | GradientOptions | TapOptions }> = [];
  const tokenizer: Tokenizer = { vocabSize: V, specialIds: new Set(), encode: () => [], decode: () => '', ...(bos === undefined ? {} : { bos }) };
  const engine: Engine = {
    shape: { nLayers: 1, dModel: 2, dMlp: 2, dVocab: V },
    tokenizer,
    backend: 'fake',
    evaluate: (ids, _o, options) => {
      calls.push({ op: 'evaluate', ids, ...(options ? { options } : {}) });
      return Promise.resolve({ f: new Float32Array(ids.length), ce: new Float32Array(ids.length) });
    },
    gradients: (ids, _l, _o, k) => {
      calls.push({ op: 'gradients', ids });
      const n = ids[0]!.length;
      const topk = Int32Array.from({ length: ids.length * n * k }, (_, i) => Math.floor(i / k)); // (b * n + p)
      const grads = Float32Array.from({ length: ids.length * n * V }, (_, i) => Math.floor(i / V));
      return Promise.resolve({ f: new Float32Array(ids.length), ce: new Float32Array(ids.length), topk, k, grads });
    },
    taps: (ids, _names, options) => {
      calls.push({ op: 'taps', ids, ...(options ? { options } : {}) });
      return Promise.resolve({ values: {}, dims: {}, ce: new Float32Array(ids.length) });
    },
    dispose: () => {},
  };
  return { engine, calls };
}

describe('withBos', () => {
  it('leaves an engine whose tokenizer adds no BOS as it is', () => {
    const { engine } = recorder();
    expect(withBos(engine)).toBe(engine);
  });

  it('puts the BOS before every row of evaluate, gradients and taps, and shifts prefix hints past it', async () => {
    const { engine, calls } = recorder(4);
    const e = withBos(engine);
    expect(rawEngine(e)).toBe(engine);
    expect(withBos(e)).toBe(e);
    await e.evaluate([[1, 2, 3]], objective, { prefix: { parents: [[1, 2, 0]], parentOf: [0], from: [2] } });
    await e.taps([[3, 2, 1]], ['logits'], { cePositions: true });
    expect(calls[0]).toEqual({ op: 'evaluate', ids: [[4, 1, 2, 3]], options: { prefix: { parents: [[4, 1, 2, 0]], parentOf: [0], from: [3] } } });
    expect(calls[1]!.ids).toEqual([[4, 3, 2, 1]]);
  });

  it("drops the BOS position's top-k and gradients, keeping each row's own positions in order", async () => {
    const { engine, calls } = recorder(4);
    const k = 2;
    const g = await withBos(engine).gradients(
      [
        [1, 2],
        [3, 0],
      ],
      [1, 1],
      objective,
      k,
      { full: true },
    );
    expect(calls[0]!.ids).toEqual([
      [4, 1, 2],
      [4, 3, 0],
    ]);
    // The inner engine saw 3 positions per row; row b's positions 1 and 2 are flat (b * 3 + 1), (b * 3 + 2).
    expect(Array.from(g.topk)).toEqual([1, 1, 2, 2, 4, 4, 5, 5]);
    expect(Array.from(g.grads!)).toEqual([1, 2, 4, 5].flatMap((r) => Array<number>(V).fill(r)));
  });
});

describe('the BOS the tokenizer adds', () => {
  it.each([
    ['tiny-llama3', true],
    ['tiny-llama3-tied-bf16', true],
    ['tiny-gpt2', false],
    ['tiny-qwen2-bf16', false],
    ['tiny-parallel', false],
    ['tiny-gemma2', true],
    ['tiny-gemma3-bf16', true],
  ] as const)("%s: found from its own post-processing (has one: %s), and --text ids equal the Python tokenizer's", (name, has) => {
    const dir = join(MODELS, name);
    const tok = HfJsonTokenizer.fromFile(join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json'));
    const golden = readGolden(name) as ReturnType<typeof readGolden> & { bos?: number | null; texts: Array<{ ids_special?: number[] }> };
    expect(tok.bos !== undefined).toBe(has);
    if (golden.bos !== undefined) expect(tok.bos ?? null).toBe(golden.bos);
    for (const t of golden.texts) {
      expect(tok.encode(t.text)).toEqual(t.ids);
      if (t.ids_special) expect(tok.encodeWithSpecialTokens(t.text)).toEqual(t.ids_special);
      if (t.ids_special) expect([...(tok.bos === undefined ? [] : [tok.bos]), ...tok.encode(t.text)]).toEqual(t.ids_special);
    }
  });
});

describe('EPO on a model whose tokenizer adds a BOS (tiny-llama3, wasm)', () => {
  it('keeps prompts of seqLen tokens without the BOS, and every f and CE is the engine on BOS + prompt', async () => {
    const raw = await TfjsEngine.load(join(MODELS, 'tiny-llama3'), { backend: 'wasm' });
    try {
      const engine = withBos(raw);
      const bos = raw.tokenizer.bos!;
      const n = 5;
      const { history } = await epo(engine, { kind: 'neuron', layer: 1, index: 3 }, { seqLen: n, iters: 3, population: 4, children: 4, topk: 8, seed: 7 });
      const { ids, f, ce, rows } = history.flat();
      const prompts = Array.from({ length: rows }, (_, r) => Array.from(ids.subarray(r * n, (r + 1) * n)));
      const again = await raw.evaluate(
        prompts.map((p) => [bos, ...p]),
        { kind: 'neuron', layer: 1, index: 3 },
      );
      expect(prompts.every((p) => p.length === n)).toBe(true);
      expect(scaledMaxDiff(f, again.f)).toBeLessThan(1e-5);
      expect(scaledMaxDiff(ce, again.ce)).toBeLessThan(1e-5);
      // The gradient's top-k is for the prompt's own positions only.
      const g = await engine.gradients([prompts[0]!], [1], { kind: 'neuron', layer: 1, index: 3 }, 4);
      expect(g.topk.length).toBe(n * 4);
    } finally {
      raw.dispose();
    }
  });
});

describe('the prompt length a model takes, counting the BOS', () => {
  it('tiny-gpt2 (no BOS, 32 positions) takes 32 tokens; tiny-gemma2 (a BOS, 64 positions) takes 63', () => {
    const gpt2 = join(MODELS, 'tiny-gpt2');
    const gemma = join(MODELS, 'tiny-gemma2');
    expect(readConfig(gpt2).maxPositions).toBe(32);
    expect(readConfig(gemma).maxPositions).toBe(64);
    expect(() => checkModelSeqLen(gpt2, 32, '--seq-len')).not.toThrow();
    expect(() => checkModelSeqLen(gpt2, 33, '--seq-len')).toThrow(/--seq-len: 33 tokens exceeds the model's 32 positions .*use at most 32$/);
    expect(() => checkModelSeqLen(gemma, 63, '--seq-len')).not.toThrow();
    let err: unknown;
    try {
      checkModelSeqLen(gemma, 64, '--seq-len');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'E_SEQ_LEN', message: expect.stringMatching(/64 tokens and the tokenizer's BOS exceed the model's 64 positions .*use at most 63$/) });
  });
});
