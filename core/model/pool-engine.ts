// Spreads one engine's work over worker threads, each with its own tfjs backend and copy of the model: the
// wasm backend runs one core per process under Node, so a batch split over N workers uses N cores.
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine, Evaluation, EvaluateOptions, GradientOptions, GradientResult, ModelShape, Objective, TapOptions, TapValues } from '../engine.js';
import { deserialiseError, UserError, type SerialisedError } from '../errors.js';
import { parseNeoXConfig } from './config.js';
import { readTokenizer } from './load.js';
import type { HfJsonTokenizer } from './tokenizer.js';
import { resolveBackendName } from './backend.js';
import type { TfjsEngineOptions } from './tfjs-engine.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A pool of worker engines behind the Engine interface; batches split into contiguous slices, one per worker. */
export class PoolEngine implements Engine {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly workers: Worker[],
    readonly shape: ModelShape,
    readonly tokenizer: HfJsonTokenizer,
    readonly backend: string,
  ) {
    for (const w of workers) {
      w.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: SerialisedError }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(deserialiseError(msg.error!));
      });
    }
  }

  /** Starts `threads` workers, each loading `dir` on `backend` (default wasm). */
  static async load(dir: string, options: TfjsEngineOptions & { threads: number }): Promise<PoolEngine> {
    const { threads, ...engineOptions } = options;
    const backend = resolveBackendName(options.backend);
    const cfg = parseNeoXConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));
    const tokenizer = readTokenizer(dir, cfg);
    const boot = new URL('./engine-worker-boot.js', import.meta.url);
    const workers = Array.from({ length: Math.max(1, threads) }, () => new Worker(boot, { workerData: { dir, options: { ...engineOptions, backend } } }));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('error', reject);
              w.once('message', (m: { ok: boolean; error?: SerialisedError }) => (m.ok ? resolve() : reject(deserialiseError(m.error!))));
            }),
        ),
      );
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    const { nLayers, dModel, dMlp, dVocab } = cfg;
    return new PoolEngine(workers, { nLayers, dModel, dMlp, dVocab }, tokenizer, backend);
  }

  async evaluate(ids: number[][], objective: Objective, options: EvaluateOptions = {}): Promise<Evaluation> {
    const { prefix } = options;
    if (!prefix) {
      const parts = await this.fanOut<Evaluation>(ids, (slice) => ['evaluate', [slice, objective]]);
      return { f: cat(parts.map((p) => p.f)), ce: cat(parts.map((p) => p.ce)), argmaxNext: cat(parts.map((p) => p.argmaxNext)) };
    }
    // Children ordered by parent, so each worker's slice names few parents and its engine runs only those.
    const order = ids.map((_, b) => b).sort((a, b) => prefix.parentOf[a]! - prefix.parentOf[b]! || a - b);
    const parts = await this.fanOut<Evaluation>(
      order.map((b) => ids[b]!),
      (slice, start) => {
        const rows = order.slice(start, start + slice.length);
        const used = [...new Set(rows.map((b) => prefix.parentOf[b]!).filter((p) => p >= 0))];
        const local = new Map(used.map((p, i) => [p, i]));
        const hint = {
          parents: used.map((p) => prefix.parents[p]!),
          parentOf: rows.map((b) => (prefix.parentOf[b]! >= 0 ? local.get(prefix.parentOf[b]!)! : -1)),
          from: rows.map((b) => prefix.from[b]!),
        };
        return ['evaluate', [slice, objective, { prefix: hint }]];
      },
    );
    const sorted = { f: cat(parts.map((p) => p.f)), ce: cat(parts.map((p) => p.ce)), argmaxNext: cat(parts.map((p) => p.argmaxNext)) };
    const out: Evaluation = { f: new Float32Array(ids.length), ce: new Float32Array(ids.length), argmaxNext: new Int32Array(ids.length) };
    order.forEach((b, i) => {
      out.f[b] = sorted.f[i]!;
      out.ce[b] = sorted.ce[i]!;
      out.argmaxNext[b] = sorted.argmaxNext[i]!;
    });
    return out;
  }

  async gradients(ids: number[][], lambdas: number[], objective: Objective, k: number, options: GradientOptions = {}): Promise<GradientResult> {
    const parts = await this.fanOut<GradientResult>(ids, (slice, start) => ['gradients', [slice, lambdas.slice(start, start + slice.length), objective, k, options]]);
    return {
      f: cat(parts.map((p) => p.f)),
      ce: cat(parts.map((p) => p.ce)),
      argmaxNext: cat(parts.map((p) => p.argmaxNext)),
      topk: cat(parts.map((p) => p.topk)),
      k,
      ...(options.full ? { grads: cat(parts.map((p) => p.grads!)) } : {}),
    };
  }

  async taps(ids: number[][], names: string[], options: TapOptions = {}): Promise<TapValues> {
    const { align: _align, ...rest } = options; // the tfjs workers return raw values: no need to copy the vectors to each
    const parts = await this.fanOut<TapValues>(ids, (slice) => ['taps', [slice, names, rest]]);
    const values: Record<string, Float32Array> = {};
    for (const name of names) values[name] = cat(parts.map((p) => p.values[name]!));
    const ce = cat(parts.map((p) => p.ce));
    return { values, dims: parts[0]!.dims, ce, ...(options.cePositions ? { cePositions: cat(parts.map((p) => p.cePositions!)) } : {}) };
  }

  dispose(): void {
    for (const w of this.workers) void w.terminate();
    for (const p of this.pending.values()) p.reject(new Error('PoolEngine: disposed with work in flight'));
    this.pending.clear();
  }

  /** Splits ids into one contiguous slice per worker (fewer when the batch is small) and runs them in parallel. */
  private fanOut<T>(ids: number[][], request: (slice: number[][], start: number) => [string, unknown[]]): Promise<T[]> {
    if (ids.length === 0) throw new UserError('E_ENGINE_INPUT', 'ids: expected at least one prompt, got none');
    const per = Math.ceil(ids.length / this.workers.length);
    const jobs: Promise<T>[] = [];
    for (let w = 0, start = 0; start < ids.length; w++, start += per) {
      const [method, args] = request(ids.slice(start, start + per), start);
      const id = this.nextId++;
      jobs.push(
        new Promise<T>((resolve, reject) => {
          this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
          this.workers[w]!.postMessage({ id, method, args });
        }),
      );
    }
    return Promise.all(jobs);
  }
}

function cat<T extends Float32Array | Int32Array>(parts: T[]): T {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new (parts[0]!.constructor as new (n: number) => T)(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
