// Spreads one engine's work over worker threads, each with its own tfjs backend and copy of the model: the
// wasm backend runs one core per process under Node, so a batch split over N workers uses N cores.
import { Worker } from 'node:worker_threads';
import type { Engine, Evaluation, EvaluateOptions, GradientOptions, GradientResult, ModelShape, Objective, TapOptions, TapValues } from '../engine.js';
import { deserialiseError, UserError, type SerialisedError } from '../errors.js';
import { modelShape } from './config.js';
import { readConfig, readTokenizer } from './load.js';
import type { HfJsonTokenizer } from './tokenizer.js';
import { resolveBackendName } from './backend.js';
import type { TfjsEngineOptions } from './tfjs-engine.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  thread: number;
}

/** One worker thread and the promise of its engine being loaded. */
interface Thread {
  worker: Worker;
  ready: Promise<void>;
  /** Set when the thread died: why. */
  exited?: Error;
}

/**
 * A pool of worker engines behind the Engine interface; batches split into contiguous slices, one per worker. A
 * thread that dies (an abort in wasm, a crash) fails its calls in flight with a retryable error, and the next
 * call starts a new one, as the torch engine does with its process: nothing waits on a dead thread.
 */
export class PoolEngine implements Engine {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly threads: Thread[];
  private disposed = false;

  private constructor(
    private readonly spawn: () => Worker,
    count: number,
    readonly shape: ModelShape,
    readonly tokenizer: HfJsonTokenizer,
    readonly backend: string,
  ) {
    this.threads = Array.from({ length: count }, (_, i) => this.start(i));
  }

  /** Starts `threads` workers, each loading `dir` on `backend` (default wasm). */
  static async load(dir: string, options: TfjsEngineOptions & { threads: number }): Promise<PoolEngine> {
    const { threads, ...engineOptions } = options;
    const backend = resolveBackendName(options.backend);
    const cfg = readConfig(dir);
    const tokenizer = readTokenizer(dir, cfg);
    const boot = new URL('./engine-worker-boot.js', import.meta.url);
    const spawn = () => new Worker(boot, { workerData: { dir, options: { ...engineOptions, backend } } });
    const pool = new PoolEngine(spawn, Math.max(1, threads), modelShape(cfg), tokenizer, backend);
    try {
      await Promise.all(pool.threads.map((t) => t.ready));
    } catch (e) {
      pool.dispose();
      throw e;
    }
    return pool;
  }

  /** Thread i: its worker, a promise that its engine loaded, and what happens when it dies. */
  private start(i: number): Thread {
    const worker = this.spawn();
    let loaded: (() => void) | undefined;
    let failed: ((e: unknown) => void) | undefined;
    const ready = new Promise<void>((resolve, reject) => ([loaded, failed] = [resolve, reject]));
    ready.catch(() => {}); // a load failure reaches whoever awaits ready
    const thread: Thread = { worker, ready };
    worker.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: SerialisedError }) => {
      if (msg.id === 0) return msg.ok ? loaded!() : failed!(deserialiseError(msg.error!));
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(deserialiseError(msg.error!));
    });
    let cause = '';
    worker.on('error', (e) => (cause = `: ${e.message}`));
    worker.on('exit', (code) => {
      const err = new Error(`engine worker thread ${i} exited (code ${code})${cause}; the next call starts a new one`);
      thread.exited = err;
      if (this.disposed) return;
      failed!(err);
      for (const [id, p] of this.pending) {
        if (p.thread !== i) continue;
        this.pending.delete(id);
        p.reject(err);
      }
    });
    return thread;
  }

  /** Thread i, started again if it died, once its engine is loaded. */
  private async thread(i: number): Promise<Thread> {
    if (this.threads[i]!.exited) this.threads[i] = this.start(i);
    const t = this.threads[i]!;
    await t.ready;
    return t;
  }

  async evaluate(ids: number[][], objective: Objective, options: EvaluateOptions = {}): Promise<Evaluation> {
    const { prefix } = options;
    if (!prefix) {
      const parts = await this.fanOut<Evaluation>(ids, (slice) => ['evaluate', [slice, objective]]);
      return { f: cat(parts.map((p) => p.f)), ce: cat(parts.map((p) => p.ce)) };
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
    const sorted = { f: cat(parts.map((p) => p.f)), ce: cat(parts.map((p) => p.ce)) };
    const out: Evaluation = { f: new Float32Array(ids.length), ce: new Float32Array(ids.length) };
    order.forEach((b, i) => {
      out.f[b] = sorted.f[i]!;
      out.ce[b] = sorted.ce[i]!;
    });
    return out;
  }

  async gradients(ids: number[][], lambdas: number[], objective: Objective, k: number, options: GradientOptions = {}): Promise<GradientResult> {
    const parts = await this.fanOut<GradientResult>(ids, (slice, start) => ['gradients', [slice, lambdas.slice(start, start + slice.length), objective, k, options]]);
    return {
      f: cat(parts.map((p) => p.f)),
      ce: cat(parts.map((p) => p.ce)),
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
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.threads) void t.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error('PoolEngine: disposed with work in flight'));
    this.pending.clear();
  }

  /** Splits ids into one contiguous slice per worker (fewer when the batch is small) and runs them in parallel. */
  private async fanOut<T>(ids: number[][], request: (slice: number[][], start: number) => [string, unknown[]]): Promise<T[]> {
    if (ids.length === 0) throw new UserError('E_ENGINE_INPUT', 'ids: expected at least one prompt, got none');
    if (this.disposed) throw new Error('PoolEngine: used after dispose()');
    const per = Math.ceil(ids.length / this.threads.length);
    const jobs: Promise<T>[] = [];
    for (let w = 0, start = 0; start < ids.length; w++, start += per) {
      const [method, args] = request(ids.slice(start, start + per), start);
      jobs.push(
        this.thread(w).then(
          (t) =>
            new Promise<T>((resolve, reject) => {
              // The thread may have died since it loaded: its exit handler has run, so nothing would answer.
              if (t.exited) return reject(t.exited);
              const id = this.nextId++;
              this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, thread: w });
              t.worker.postMessage({ id, method, args });
            }),
        ),
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
