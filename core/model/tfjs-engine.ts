// The TensorFlow.js engine: a loaded GPT-NeoX model behind the engine protocol of core/engine.ts. Batches are
// split into chunks that bound the largest tensor ([rows, n, dVocab] logits and one-hot gradients).
import * as tf from '@tensorflow/tfjs-core';
import type { Engine, Evaluation, GradientResult, ModelShape, Objective, TapOptions, TapValues } from '../engine.js';
import { UserError } from '../errors.js';
import { initBackend } from './backend.js';
import { modelTensors, readCheckpoint, readTokenizer, toModel, type HostCheckpoint } from './load.js';
import {
  embedIds,
  embedOneHot,
  forward,
  lastLogits,
  meanNextTokenCE,
  nextTokenCE,
  parseTap,
  tapDim,
  type NeoXModel,
  type Tap,
} from './neox.js';
import { objectiveTaps, objectiveValue, validateObjective } from './objectives.js';
import type { HfJsonTokenizer } from './tokenizer.js';

export interface TfjsEngineOptions {
  /** `wasm` (default), `cpu`, `webgpu`, `tensorflow`; else env DREAMSWEEP_BACKEND. */
  backend?: string;
  /** Largest [rows, n, dVocab] tensor, in floats, before a batch is split (default 2^24 = 64 MiB). */
  maxChunkFloats?: number;
}

/** A GPT-NeoX model on a tfjs backend, serving evaluate / gradients / taps. */
export class TfjsEngine implements Engine {
  readonly shape: ModelShape;
  private readonly maxChunkFloats: number;
  private disposed = false;

  private constructor(
    readonly model: NeoXModel,
    readonly tokenizer: HfJsonTokenizer,
    readonly backend: string,
    options: TfjsEngineOptions,
  ) {
    const { nLayers, dModel, dMlp, dVocab } = model.cfg;
    this.shape = { nLayers, dModel, dMlp, dVocab };
    this.maxChunkFloats = options.maxChunkFloats ?? 2 ** 24;
  }

  /** Loads a Hugging Face GPT-NeoX directory onto the chosen backend. */
  static async load(dir: string, options: TfjsEngineOptions = {}): Promise<TfjsEngine> {
    const ck = readCheckpoint(dir);
    const tokenizer = readTokenizer(dir, ck.cfg);
    return TfjsEngine.fromCheckpoint(ck, tokenizer, options);
  }

  /** Builds an engine from weights already read (a worker thread receives these). */
  static async fromCheckpoint(
    ck: HostCheckpoint,
    tokenizer: HfJsonTokenizer,
    options: TfjsEngineOptions = {},
  ): Promise<TfjsEngine> {
    const backend = await initBackend(options.backend);
    return new TfjsEngine(toModel(ck), tokenizer, backend, options);
  }

  async evaluate(ids: number[][], objective: Objective): Promise<Evaluation> {
    this.check(ids);
    validateObjective(objective, this.model.cfg);
    const B = ids.length;
    const out: Evaluation = { f: new Float32Array(B), ce: new Float32Array(B), argmaxNext: new Int32Array(B) };
    for (const [start, rows] of this.chunks(ids)) {
      const [f, ce, next] = tf.tidy(() => {
        const idsT = tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
        const res = forward(this.model, embedIds(this.model, idsT), { taps: objectiveTaps(objective), logits: 'all' });
        const logits = res.logits as tf.Tensor3D;
        const last = lastLogits(logits);
        return [objectiveValue(objective, res.taps, last), meanNextTokenCE(logits, idsT), tf.argMax(last, -1)];
      });
      out.f.set(await readAndDispose(f!), start);
      out.ce.set(await readAndDispose(ce!), start);
      out.argmaxNext.set(await readAndDispose(next!), start);
    }
    return out;
  }

  async gradients(
    ids: number[][],
    lambdas: number[],
    objective: Objective,
    k: number,
    options: { full?: boolean; allowed?: Uint8Array } = {},
  ): Promise<GradientResult> {
    this.check(ids);
    validateObjective(objective, this.model.cfg);
    const { dVocab: V } = this.model.cfg;
    if (lambdas.length !== ids.length) {
      throw new UserError('E_ENGINE_INPUT', `gradients: expected ${ids.length} lambdas (one per prompt), got ${lambdas.length}`);
    }
    if (!Number.isInteger(k) || k < 1 || k > V) {
      throw new UserError('E_ENGINE_INPUT', `gradients: k: expected an integer in 1..${V}, got ${k}`);
    }
    const allowed = options.allowed ?? defaultAllowed(V, this.tokenizer.vocabSize);
    if (allowed.length !== V) {
      throw new UserError('E_ENGINE_INPUT', `gradients: allowed: expected length ${V} (d_vocab), got ${allowed.length}`);
    }
    const bias = new Float32Array(V);
    for (let t = 0; t < V; t++) if (!allowed[t]) bias[t] = -Infinity;
    const B = ids.length;
    const n = ids[0]!.length;
    const out: GradientResult = {
      f: new Float32Array(B),
      ce: new Float32Array(B),
      argmaxNext: new Int32Array(B),
      topk: new Int32Array(B * n * k),
      k,
      ...(options.full ? { grads: new Float32Array(B * n * V) } : {}),
    };
    for (const [start, rows] of this.chunks(ids)) {
      const b = rows.length;
      let kept: tf.Tensor[] = [];
      const [grads, topk] = tf.tidy(() => {
        const idsT = tf.tensor2d(rows, [b, n], 'int32');
        const lam = tf.tensor1d(lambdas.slice(start, start + b));
        const oneHot = tf.cast(tf.oneHot(idsT, V), 'float32') as tf.Tensor3D; // [b, n, V]
        const taps = objectiveTaps(objective);
        const g = tf.grad((x: tf.Tensor) => {
          const res = forward(this.model, embedOneHot(this.model, x as tf.Tensor3D), { taps, logits: 'all' });
          const logits = res.logits as tf.Tensor3D;
          const last = lastLogits(logits);
          const f = objectiveValue(objective, res.taps, last);
          const ce = meanNextTokenCE(logits, x as tf.Tensor3D); // differentiated through the one-hot targets too
          kept = [tf.keep(f), tf.keep(ce), tf.keep(tf.argMax(last, -1))];
          return tf.sum(tf.sub(f, tf.mul(lam, ce))); // rows are independent: d(sum)/d(row i) = d(L_i)/d(row i)
        })(oneHot); // [b, n, V]
        const top = tf.topk(tf.add(g, tf.tensor1d(bias)), k).indices; // [b, n, k]
        return [options.full ? g : tf.zeros([0]), top];
      });
      out.f.set(await readAndDispose(kept[0]!), start);
      out.ce.set(await readAndDispose(kept[1]!), start);
      out.argmaxNext.set(await readAndDispose(kept[2]!), start);
      out.topk.set(await readAndDispose(topk!), start * n * k);
      const full = await readAndDispose(grads!);
      if (out.grads) out.grads.set(full, start * n * V);
    }
    return out;
  }

  async taps(ids: number[][], names: string[], options: TapOptions = {}): Promise<TapValues> {
    this.check(ids);
    const cfg = this.model.cfg;
    const parsed = names.map((name) => ({ name, tap: parseTap(name, cfg) }));
    const wantCe = options.ce ?? true;
    const n = ids[0]!.length;
    const wantPositions = wantCe && options.cePositions === true && n >= 2;
    const wantLogits = parsed.some((p) => p.tap.kind === 'logits');
    const inner: Tap[] = parsed.filter((p) => p.tap.kind !== 'logits').map((p) => p.tap);
    const B = ids.length;
    const result: TapValues = { values: {}, dims: {}, ce: new Float32Array(wantCe ? B : 0) };
    if (options.cePositions) result.cePositions = new Float32Array(wantPositions ? B * (n - 1) : 0);
    for (const { name, tap } of parsed) {
      result.dims[name] = tapDim(tap, cfg);
      result.values[name] = new Float32Array(B * tapDim(tap, cfg));
    }
    for (const [start, rows] of this.chunks(ids)) {
      const produced = tf.tidy(() => {
        const idsT = tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
        const logitsMode = wantCe ? 'all' : wantLogits ? 'last' : 'none';
        const res = forward(this.model, embedIds(this.model, idsT), { taps: inner, logits: logitsMode });
        const named: Record<string, tf.Tensor> = {};
        for (const { name, tap } of parsed) {
          if (tap.kind !== 'logits') named[name] = res.taps.get(name)!;
          else named[name] = wantCe ? lastLogits(res.logits as tf.Tensor3D) : res.logits!;
        }
        if (wantPositions) {
          const perPosition = nextTokenCE(res.logits as tf.Tensor3D, idsT);
          named['\0cePositions'] = perPosition;
          named['\0ce'] = tf.mean(perPosition, -1);
        } else if (wantCe) {
          named['\0ce'] = meanNextTokenCE(res.logits as tf.Tensor3D, idsT);
        }
        return named;
      });
      for (const { name } of parsed) {
        result.values[name]!.set(await readAndDispose(produced[name]!), start * result.dims[name]!);
      }
      if (wantCe) result.ce.set(await readAndDispose(produced['\0ce']!), start);
      if (wantPositions) result.cePositions!.set(await readAndDispose(produced['\0cePositions']!), start * (n - 1));
    }
    return result;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(modelTensors(this.model));
  }

  /** Ids must form a rectangle of valid token ids. */
  private check(ids: number[][]): void {
    if (this.disposed) throw new Error('TfjsEngine: used after dispose()');
    const V = this.model.cfg.dVocab;
    if (ids.length === 0) throw new UserError('E_ENGINE_INPUT', 'ids: expected at least one prompt, got none');
    const n = ids[0]!.length;
    if (n === 0) throw new UserError('E_ENGINE_INPUT', 'ids: prompts must have at least one token');
    ids.forEach((row, i) => {
      if (row.length !== n) {
        throw new UserError('E_ENGINE_INPUT', `ids[${i}]: expected ${n} tokens like ids[0], got ${row.length}`);
      }
      for (const t of row) {
        if (!Number.isInteger(t) || t < 0 || t >= V) {
          throw new UserError('E_TOKEN_ID', `ids[${i}]: token ${t} is outside the model's vocabulary 0..${V - 1}`);
        }
      }
    });
  }

  /** Splits a batch so [rows, n, dVocab] stays under maxChunkFloats: yields (start index, rows). */
  private *chunks(ids: number[][]): Generator<[number, number[][]]> {
    const per = ids[0]!.length * this.model.cfg.dVocab;
    const size = Math.max(1, Math.floor(this.maxChunkFloats / per));
    for (let s = 0; s < ids.length; s += size) yield [s, ids.slice(s, s + size)];
  }
}

/** By default only ids the tokenizer knows are proposed (Pythia pads dVocab past its tokenizer). */
function defaultAllowed(dVocab: number, tokenizerVocab: number): Uint8Array {
  const a = new Uint8Array(dVocab);
  a.fill(1, 0, Math.min(dVocab, tokenizerVocab));
  return a;
}

async function readAndDispose<T extends tf.Tensor>(t: T): Promise<Float32Array | Int32Array | Uint8Array> {
  try {
    return (await t.data()) as Float32Array | Int32Array;
  } finally {
    t.dispose();
  }
}
