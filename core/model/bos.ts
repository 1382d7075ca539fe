// The beginning-of-sequence rule, in one place. Llama 3 and Gemma expect a BOS before every text and behave badly
// without it; Pythia, GPT-2 and Qwen have none. Prompts, windows, histories and reports hold the text's tokens only;
// `withBos` puts the tokenizer's BOS in front of every row an engine computes, so the BOS is never mutated, never
// sampled, never shown, and EPO, the baselines, the scan and the report need no rule of their own.
//
// Cross-entropy with a BOS: the engine's mean next-token CE over positions 1..n of [BOS, t_0 .. t_{n-1}], that is
// every token of the text, t_0 included (the model predicts the first token from the BOS). Without a BOS, t_0 has
// nothing to be predicted from, so CE averages over t_1 .. t_{n-1}. Per-position CEs (`cePositions`) follow: n values
// per row with a BOS, n - 1 without.
import type { Engine, EvaluateOptions, Evaluation, GradientOptions, GradientResult, TapOptions, TapValues } from '../engine.js';

/** The engine as callers should see it: with the tokenizer's BOS put before every row, or unchanged where it has none. */
export function withBos(engine: Engine): Engine {
  return engine.tokenizer.bos === undefined || engine instanceof BosEngine ? engine : new BosEngine(engine, engine.tokenizer.bos);
}

/** The engine that computes on ids exactly as given (`inspect --ids`), whether or not `withBos` wrapped it. */
export function rawEngine(engine: Engine): Engine {
  return engine instanceof BosEngine ? engine.inner : engine;
}

class BosEngine implements Engine {
  constructor(
    readonly inner: Engine,
    private readonly bos: number,
  ) {}

  get shape() {
    return this.inner.shape;
  }
  get tokenizer() {
    return this.inner.tokenizer;
  }
  get backend() {
    return this.inner.backend;
  }

  private rows(ids: number[][]): number[][] {
    return ids.map((row) => [this.bos, ...row]);
  }

  evaluate(ids: number[][], objective: Parameters<Engine['evaluate']>[1], options: EvaluateOptions = {}): Promise<Evaluation> {
    const p = options.prefix;
    // A child that differs from its parent at position i differs at i + 1 behind the BOS (which it always shares).
    const prefix = p && { parents: this.rows(p.parents), parentOf: p.parentOf, from: p.from.map((i) => i + 1) };
    return this.inner.evaluate(this.rows(ids), objective, prefix ? { ...options, prefix } : options);
  }

  async gradients(ids: number[][], lambdas: number[], objective: Parameters<Engine['gradients']>[2], k: number, options: GradientOptions = {}): Promise<GradientResult> {
    const g = await this.inner.gradients(this.rows(ids), lambdas, objective, k, options);
    const n = ids[0]?.length ?? 0;
    // Drop the BOS position's top-k and gradients: [B, n + 1, *] -> [B, n, *].
    const dropFirst = <T extends Int32Array | Float32Array>(a: T, per: number): T => {
      const out = new (a.constructor as new (len: number) => T)(ids.length * n * per);
      for (let b = 0; b < ids.length; b++) out.set(a.subarray((b * (n + 1) + 1) * per, (b + 1) * (n + 1) * per), b * n * per);
      return out;
    };
    return {
      ...g,
      topk: dropFirst(g.topk, k),
      ...(g.grads ? { grads: dropFirst(g.grads, this.shape.dVocab) } : {}),
    };
  }

  taps(ids: number[][], names: string[], options?: TapOptions): Promise<TapValues> {
    return this.inner.taps(this.rows(ids), names, options);
  }

  dispose(): void {
    this.inner.dispose();
  }
}
