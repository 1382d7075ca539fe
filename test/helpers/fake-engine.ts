// A small deterministic engine double for EPO's mechanics: f is linear in the one-hot tokens
// (f = sum_p W[p][t_p]) and CE is a per-token cost averaged over positions 1..n-1, so the gradient of
// f - lambda * CE is exact and known. Counts every prompt evaluated and every backward pass.
import type { Engine, Evaluation, GradientResult, Objective, Tokenizer } from '../../core/engine.js';
import { Rng } from '../../core/rng.js';

export interface FakeEngine extends Engine {
  calls: { evaluated: number; backward: number };
  W: Float64Array[]; // [n][V]
  cost: Float64Array; // [V]
}

/** Tokens decode to words `w<id>`; `words` overrides some of them (e.g. to plant a banned word). */
export function fakeEngine(opts: { vocab: number; seqLen: number; seed?: number; words?: Record<number, string>; costScale?: number }): FakeEngine {
  const { vocab: V, seqLen: n } = opts;
  const rng = Rng.seeded(opts.seed ?? 1);
  const W = Array.from({ length: n }, () => Float64Array.from({ length: V }, () => rng.normal()));
  const cost = Float64Array.from({ length: V }, () => (opts.costScale ?? 3) * rng.float());
  const word = (id: number) => opts.words?.[id] ?? `w${id}`;
  const byWord = new Map<string, number>();
  for (let id = 0; id < V; id++) byWord.set(word(id), id);
  const tokenizer: Tokenizer = {
    vocabSize: V,
    specialIds: new Set([0]),
    decode: (ids) => ids.map(word).join(' '),
    encode: (text) =>
      text.trim()
        ? text
            .trim()
            .split(/\s+/)
            .map((w) => byWord.get(w) ?? 0)
        : [],
  };
  const f = (ids: number[]) => Math.fround(ids.reduce((a, t, p) => a + W[p]![t]!, 0));
  const ce = (ids: number[]) => Math.fround(ids.slice(1).reduce((a, t) => a + cost[t]!, 0) / (ids.length - 1));
  const calls = { evaluated: 0, backward: 0 };
  const evaluate = async (ids: number[][], _o: Objective): Promise<Evaluation> => {
    calls.evaluated += ids.length;
    return { f: Float32Array.from(ids, f), ce: Float32Array.from(ids, ce) };
  };
  return {
    shape: { nLayers: 2, dModel: 8, dMlp: 32, dVocab: V },
    tokenizer,
    backend: 'fake',
    calls,
    W,
    cost,
    evaluate,
    async gradients(ids, lambdas, o, k, options = {}): Promise<GradientResult> {
      const e = await evaluate(ids, o);
      calls.evaluated -= ids.length;
      calls.backward += ids.length;
      const topk = new Int32Array(ids.length * n * k);
      const grads = options.full ? new Float32Array(ids.length * n * V) : undefined;
      ids.forEach((_, b) => {
        for (let p = 0; p < n; p++) {
          const g = Array.from({ length: V }, (_, v) => W[p]![v]! - (p >= 1 ? (lambdas[b]! * cost[v]!) / (n - 1) : 0));
          grads?.set(g, (b * n + p) * V);
          const order = g
            .map((_, v) => v)
            .filter((v) => !options.allowed || options.allowed[v])
            .sort((a, c) => g[c]! - g[a]! || a - c);
          topk.set(order.slice(0, k), (b * n + p) * k);
        }
      });
      return { ...e, topk, k, ...(grads ? { grads } : {}) };
    },
    async taps() {
      throw new Error('the fake engine has no taps');
    },
    dispose() {},
  };
}
