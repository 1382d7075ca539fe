// The TensorFlow.js engine: a loaded model (any family) behind the engine protocol of core/engine.ts. Batches are
// split into chunks that bound the largest tensor ([rows, n, dVocab] logits and one-hot gradients).
import * as tf from '@tensorflow/tfjs-core';
import type { Engine, Evaluation, EvaluateOptions, GradientOptions, GradientResult, ModelShape, Objective, PrefixHint, TapOptions, TapValues } from '../engine.js';
import { initBackend } from './backend.js';
import { chunkFloatsFor, slabColumnsFor } from './footprint.js';
import { modelShape } from './config.js';
import { checkGradientInputs, checkModelIds, checkPrefixHint } from './engine-input.js';
import { modelTensors, readCheckpoint, readTokenizer, toModel, type HostCheckpoint } from './load.js';
import { embedIds, embedOneHot, forward, lastLogits, meanNextTokenCE, type Model } from './transformer.js';
import { parseTap, tapDim, type Tap } from './taps.js';
import { hiddenLastLogits, hiddenMeanCE, hiddenNextTokenCE, unembedAt, unembedLogSumExp } from './unembed.js';
import { objectiveLastLogits, objectiveTaps, objectiveValue, validateObjective } from './objectives.js';
import type { KV } from './attention.js';
import type { HfJsonTokenizer } from './tokenizer.js';

export interface TfjsEngineOptions {
  /** `wasm` (default), `cpu`, `webgpu`, `tensorflow`; else env DREAMSWEEP_BACKEND. */
  backend?: string;
  /** Largest [rows, n, dVocab] tensor, in floats, before a batch is split (default: by backend, chunkFloatsFor). */
  maxChunkFloats?: number;
  /** Most prompts per backend call, whatever maxChunkFloats allows (the CLI's --max-batch). */
  maxBatch?: number;
  /** Use evaluate's prefix hint (default true); off computes every position, for comparison. */
  prefixReuse?: boolean;
  /** Columns per slab of the unembedding (default: by backend, slabColumnsFor; 0: one slab). */
  slabColumns?: number;
}

/** A model on a tfjs backend, serving evaluate / gradients / taps. */
export class TfjsEngine implements Engine {
  readonly shape: ModelShape;
  private readonly maxChunkFloats: number;
  private readonly maxBatch: number;
  private readonly prefixReuse: boolean;
  private disposed = false;

  private constructor(
    readonly model: Model,
    readonly tokenizer: HfJsonTokenizer,
    readonly backend: string,
    options: TfjsEngineOptions,
  ) {
    this.shape = modelShape(model.cfg);
    this.maxChunkFloats = options.maxChunkFloats ?? chunkFloatsFor(backend);
    this.maxBatch = options.maxBatch ?? Number.MAX_SAFE_INTEGER;
    this.prefixReuse = options.prefixReuse ?? true;
  }

  /** Loads a Hugging Face model directory onto the chosen backend. */
  static async load(dir: string, options: TfjsEngineOptions = {}): Promise<TfjsEngine> {
    const ck = readCheckpoint(dir);
    const tokenizer = readTokenizer(dir, ck.cfg);
    return TfjsEngine.fromCheckpoint(ck, tokenizer, options);
  }

  /** Builds an engine from weights already read (a worker thread receives these). */
  static async fromCheckpoint(ck: HostCheckpoint, tokenizer: HfJsonTokenizer, options: TfjsEngineOptions = {}): Promise<TfjsEngine> {
    const backend = await initBackend(options.backend);
    return new TfjsEngine(toModel(ck, { slabColumns: options.slabColumns ?? slabColumnsFor(backend) }), tokenizer, backend, options);
  }

  async evaluate(ids: number[][], objective: Objective, options: EvaluateOptions = {}): Promise<Evaluation> {
    this.check(ids);
    validateObjective(objective, this.model.cfg);
    const B = ids.length;
    const out: Evaluation = { f: new Float32Array(B), ce: new Float32Array(B) };
    const hint = options.prefix && this.prefixReuse ? checkPrefixHint(ids, options.prefix) : undefined;
    // Prompts by the first position they compute: 0 for whole prompts, p for a child that shares p with its parent.
    // (Unlike the torch engine, no merging of nearby starts: on wasm a group costs little besides its positions, and
    // merging them by the torch engine's rule made an iteration 1.25x slower in bench/epo.ts.)
    const byFrom = new Map<number, number[]>();
    ids.forEach((_, b) => {
      const from = hint && hint.parentOf[b]! >= 0 ? hint.from[b]! : 0;
      const group = byFrom.get(from);
      if (group) group.push(b);
      else byFrom.set(from, [b]);
    });
    const whole = byFrom.get(0) ?? [];
    for (const [start, rows] of this.chunks(whole.map((b) => ids[b]!))) {
      const [f, ce] = tf.tidy(() => {
        const idsT = tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
        const res = forward(this.model, embedIds(this.model, idsT), { taps: objectiveTaps(objective), logits: 'hidden' });
        const last = objectiveLastLogits(objective, this.model.weights.unembed, res.hidden!);
        return [objectiveValue(objective, res.taps, last), hiddenMeanCE(this.model.weights.unembed, res.hidden!, idsT)];
      });
      await scatter(out, whole.slice(start, start + rows.length), f!, ce!);
    }
    if (byFrom.size > (whole.length > 0 ? 1 : 0)) await this.evaluateFromPrefix(ids, objective, hint!, byFrom, out);
    return out;
  }

  /**
   * The children of a prefix hint: the parents run once, keeping every block's keys/values and their final hidden
   * states; a child changed from position p runs positions p..n-1 only, attending to its parent's keys and values
   * for 0..p-1. Its CE is assembled exactly: targets 1..p-1 are its parent's terms, target p is scored by the
   * parent's hidden state at p-1, targets p+1..n-1 by its own.
   */
  private async evaluateFromPrefix(ids: number[][], objective: Objective, hint: PrefixHint, byFrom: Map<number, number[]>, out: Evaluation): Promise<void> {
    const n = ids[0]!.length;
    const P = hint.parents.length;
    const u = this.model.weights.unembed;
    const parent = tf.tidy(() => {
      const idsT = tf.tensor2d(hint.parents, [P, n], 'int32');
      const res = forward(this.model, embedIds(this.model, idsT), { taps: [], logits: 'hidden', keepKV: true });
      const d = res.hidden!.shape[2];
      // Positions 0..n-2 as rows parent * (n-1) + position: each predicts the next token.
      const pred = tf.reshape(tf.slice(res.hidden!, [0, 0, 0], [P, n - 1, d]), [P * (n - 1), d]) as tf.Tensor2D;
      const lse = unembedLogSumExp(u, pred);
      const terms = tf.sub(lse, unembedAt(u, pred, tf.reshape(tf.slice(idsT, [0, 1], [P, n - 1]), [P * (n - 1)]) as tf.Tensor1D));
      // [P, n-1]: cumulative CE terms, so a child's targets 1..p-1 are one lookup at column p-2.
      const cum = tf.cumsum(tf.reshape(terms, [P, n - 1]), 1);
      return { ks: res.kv!.map((kv) => kv.k), vs: res.kv!.map((kv) => kv.v), cum, pred, lse };
    });
    try {
      for (const [from, members] of [...byFrom].sort((a, b) => a[0] - b[0])) {
        if (from === 0) continue;
        const q = n - from;
        for (const [start, rows] of this.chunks(
          members.map((b) => ids[b]!.slice(from)),
          q,
        )) {
          const batch = members.slice(start, start + rows.length);
          const [f, ce] = tf.tidy(() => {
            const b = rows.length;
            const parentIdx = tf.tensor1d(
              batch.map((m) => hint.parentOf[m]!),
              'int32',
            );
            // Each child's parent's keys/values at positions 0..from-1 (sliced before the gather: fewer copies).
            const prefixOf = (t: tf.Tensor4D) => tf.gather(tf.slice(t, [0, 0, 0, 0], [P, t.shape[1], from, t.shape[3]]), parentIdx) as tf.Tensor4D;
            const past: KV[] = parent.ks.map((k, l) => ({ k: prefixOf(k), v: prefixOf(parent.vs[l]!) }));
            const tail = tf.tensor2d(rows, [b, q], 'int32'); // the child's tokens from..n-1
            const res = forward(this.model, embedIds(this.model, tail), { taps: objectiveTaps(objective), logits: 'hidden', past });
            const last = objectiveLastLogits(objective, u, res.hidden!);
            // Targets 1..from-1: the parent's; target `from`: the parent's prediction at from-1.
            const prefixCE = from >= 2 ? tf.reshape(tf.slice(tf.gather(parent.cum, parentIdx), [0, from - 2], [b, 1]), [b]) : tf.zeros([b]);
            const row = tf.tensor1d(
              batch.map((m) => hint.parentOf[m]! * (n - 1) + from - 1),
              'int32',
            );
            const token = tf.tensor1d(
              batch.map((m) => ids[m]![from]!),
              'int32',
            );
            const atFrom = tf.sub(tf.gather(parent.lse, row), unembedAt(u, tf.gather(parent.pred, row), token));
            const own = q >= 2 ? tf.sum(hiddenNextTokenCE(u, res.hidden!, tail), -1) : tf.zeros([b]);
            const ceT = tf.div(tf.add(tf.add(prefixCE, atFrom), own), n - 1);
            return [objectiveValue(objective, res.taps, last), ceT];
          });
          await scatter(out, batch, f!, ce!);
        }
      }
    } finally {
      tf.dispose([parent.cum, parent.pred, parent.lse, ...parent.ks, ...parent.vs]);
    }
  }

  async gradients(ids: number[][], lambdas: number[], objective: Objective, k: number, options: GradientOptions = {}): Promise<GradientResult> {
    this.check(ids);
    validateObjective(objective, this.model.cfg);
    const { dVocab: V } = this.model.cfg;
    const allowed = checkGradientInputs(ids.length, lambdas, k, V, this.tokenizer.vocabSize, options.allowed);
    const bias = new Float32Array(V);
    for (let t = 0; t < V; t++) if (!allowed[t]) bias[t] = -Infinity;
    const B = ids.length;
    const n = ids[0]!.length;
    const out: GradientResult = {
      f: new Float32Array(B),
      ce: new Float32Array(B),
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
          const res = forward(this.model, embedOneHot(this.model, x as tf.Tensor3D, idsT), { taps, logits: 'all' });
          const logits = res.logits as tf.Tensor3D;
          const last = lastLogits(logits);
          const f = objectiveValue(objective, res.taps, last);
          const ce = meanNextTokenCE(logits, x as tf.Tensor3D); // differentiated through the one-hot targets too
          kept = [tf.keep(f), tf.keep(ce)];
          return tf.sum(tf.sub(f, tf.mul(lam, ce))); // rows are independent: d(sum)/d(row i) = d(L_i)/d(row i)
        })(oneHot); // [b, n, V]
        const top = tf.topk(tf.add(g, tf.tensor1d(bias)), k).indices; // [b, n, k]
        return [options.full ? g : tf.zeros([0]), top];
      });
      out.f.set(await readAndDispose(kept[0]!), start);
      out.ce.set(await readAndDispose(kept[1]!), start);
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
        const logitsMode = wantCe ? 'hidden' : wantLogits ? 'last' : 'none';
        const res = forward(this.model, embedIds(this.model, idsT), { taps: inner, logits: logitsMode });
        const u = this.model.weights.unembed;
        const named: Record<string, tf.Tensor> = {};
        for (const { name, tap } of parsed) {
          if (tap.kind !== 'logits') named[name] = res.taps.get(name)!;
          else named[name] = wantCe ? hiddenLastLogits(u, res.hidden!) : res.logits!;
        }
        if (wantPositions) {
          const perPosition = hiddenNextTokenCE(u, res.hidden!, idsT);
          named['\0cePositions'] = perPosition;
          named['\0ce'] = tf.mean(perPosition, -1);
        } else if (wantCe) {
          named['\0ce'] = hiddenMeanCE(u, res.hidden!, idsT);
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

  /** Ids must form a rectangle of the model's token ids (checkModelIds). */
  private check(ids: number[][]): void {
    if (this.disposed) throw new Error('TfjsEngine: used after dispose()');
    checkModelIds(ids, this.model.cfg);
  }

  /** Splits a batch so [rows, positions, dVocab] stays under maxChunkFloats: yields (start index, rows). */
  private *chunks(ids: number[][], positions = ids[0]?.length ?? 1): Generator<[number, number[][]]> {
    const per = positions * this.model.cfg.dVocab;
    const size = Math.min(this.maxBatch, Math.max(1, Math.floor(this.maxChunkFloats / per)));
    for (let s = 0; s < ids.length; s += size) yield [s, ids.slice(s, s + size)];
  }
}

/** Writes a chunk's per-prompt values to their rows of `out`. */
async function scatter(out: Evaluation, rows: number[], f: tf.Tensor, ce: tf.Tensor): Promise<void> {
  const [fv, cev] = [await readAndDispose(f), await readAndDispose(ce)];
  rows.forEach((r, i) => {
    out.f[r] = fv[i]!;
    out.ce[r] = cev[i]!;
  });
}

async function readAndDispose<T extends tf.Tensor>(t: T): Promise<Float32Array | Int32Array | Uint8Array> {
  try {
    return (await t.data()) as Float32Array | Int32Array;
  } finally {
    t.dispose();
  }
}
