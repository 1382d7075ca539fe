// The torch engine's process (core/model/torch-engine.ts is the Engine on top of it): spawn, handshake, one
// request at a time, in order, over the framed stdio protocol (core/model/torch-wire.ts). If the process dies the
// calls in flight fail with a retryable TorchEngineError and the next call starts a fresh one.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { isUserError, UserError } from '../errors.js';
import type { ModelConfig } from './config.js';
import type { TorchDtype } from './names.js';
import type { TorchEngineOptions } from './torch-engine.js';
import { TORCH_INSTALL_HINT, torchEngineDir } from './torch-env.js';
import { encodeFrame, FrameReader, type Frame, type WireArray } from './torch-wire.js';

/** Must equal PROTOCOL in engines/torch/dreamsweep_torch/__init__.py. */
export const TORCH_PROTOCOL = 5;

/** What the process reports at start. */
export interface TorchHello {
  protocol: number;
  engine: string;
  torch: string;
  cuda: string | null;
  /** e.g. "cuda:0 (NVIDIA H200)", "cpu (2 threads)". */
  device: string;
  dtype: TorchDtype;
  /** Whether the blocks run under torch.compile (TorchEngineOptions.compile; absent from older engines). */
  compiled?: boolean;
  /** The model as loaded: nLayers, dModel, dMlp, dVocab, nHeads. */
  shape: Record<'nLayers' | 'dModel' | 'dMlp' | 'dVocab' | 'nHeads', number>;
}

/** The process died or failed inside torch: retrying (on a fresh process) may well succeed. */
export class TorchEngineError extends Error {
  override readonly name = 'TorchEngineError';
  constructor(
    message: string,
    /**
     * `crash` (the process ended, or exited after a sticky CUDA error), `oom` (CUDA out of memory even at one row
     * per chunk) or `internal` (an exception in the engine).
     */
    readonly kind: 'crash' | 'oom' | 'internal',
  ) {
    super(message);
  }
}

export interface LoadRequest {
  config: ModelConfig;
  dir?: string;
  random?: boolean;
  seed?: number;
}

/** Arrays the process keeps once sent (by content key): sent only to a process that does not have them. */
export type Cached = Map<string, [WireArray, number[]]>;

/** Bytes written to and read from the process since it was created (all processes), for benchmarks and tests. */
export interface WireBytes {
  sent: number;
  received: number;
}

interface ErrorBody {
  /** fatal: a sticky CUDA error; the process exits after this frame. */
  kind: 'user' | 'oom' | 'internal' | 'fatal';
  code: string;
  message: string;
}

type Waiter = { resolve: (f: Frame) => void; reject: (e: Error) => void };

/** Lines of the process's stderr with this prefix are its log (TorchEngineOptions.log). */
const LOG_PREFIX = 'dreamsweep_torch: ';

/** One engine process: spawn, handshake, one request at a time; restarted on the next call after it died. */
export class EngineProcess {
  private proc: ChildProcessWithoutNullStreams | undefined;
  private ready: Promise<TorchHello> | undefined;
  /** The replies each process owes, in order (per process: a retired one's exit must not fail its successor's calls). */
  private readonly waiting = new WeakMap<ChildProcessWithoutNullStreams, Waiter[]>();
  private queue: Promise<unknown> = Promise.resolve();
  private stderrTail: string[] = [];
  private nextId = 1;
  private closed = false;
  /** Keys of the cached arrays the running process holds. */
  private known = new Set<string>();
  readonly bytes: WireBytes = { sent: 0, received: 0 };

  constructor(
    private readonly python: string,
    private readonly load: LoadRequest,
    private readonly options: TorchEngineOptions,
  ) {}

  /** Starts the process if none runs; resolves with its handshake. */
  start(): Promise<TorchHello> {
    if (this.closed) return Promise.reject(new Error('TorchEngine: used after dispose()'));
    this.ready ??= this.spawn();
    return this.ready;
  }

  private spawn(): Promise<TorchHello> {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: [torchEngineDir(), process.env['PYTHONPATH']].filter(Boolean).join(':'), PYTHONUNBUFFERED: '1' };
    if (this.options.testFaults !== undefined) env['DREAMSWEEP_TORCH_TEST_FAULTS'] = this.options.testFaults;
    const proc = spawn(this.python, ['-m', 'dreamsweep_torch'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    const waiting: Waiter[] = [];
    this.waiting.set(proc, waiting);
    this.stderrTail = [];
    this.known = new Set();
    const reader = new FrameReader();
    proc.stdout.on('data', (chunk: Buffer) => {
      this.bytes.received += chunk.length;
      for (const frame of reader.push(chunk)) waiting.shift()?.resolve(frame);
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      const lines = chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim());
      for (const l of lines) if (l.startsWith(LOG_PREFIX)) this.options.log?.(`torch engine: ${l.slice(LOG_PREFIX.length)}`);
      this.stderrTail.push(...lines);
      this.stderrTail = this.stderrTail.slice(-20);
    });
    proc.stdin.on('error', () => {}); // EPIPE when the process is gone: the exit handler reports it
    let spawnError: NodeJS.ErrnoException | undefined;
    proc.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    proc.on('close', (code, signal) => {
      if (this.proc === proc) {
        this.proc = undefined;
        this.ready = undefined;
      }
      const why = spawnError
        ? spawnError.code === 'ENOENT'
          ? new UserError('E_TORCH_MISSING', `${this.python}: no such Python; ${TORCH_INSTALL_HINT}`)
          : new TorchEngineError(`torch engine: cannot start ${this.python}: ${spawnError.message}`, 'crash')
        : new TorchEngineError(
            `torch engine process exited (${signal ? `signal ${signal}` : `code ${code}`})` +
              (this.stderrTail.length ? `; its last words: ${this.stderrTail.slice(-3).join(' | ')}` : '') +
              '; the next call starts a new one',
            'crash',
          );
      for (const w of waiting.splice(0)) w.reject(why);
    });
    const hello = this.exchange(proc, {
      op: 'load',
      protocol: TORCH_PROTOCOL,
      ...this.load,
      device: this.options.device ?? 'auto',
      dtype: this.options.dtype ?? 'auto',
      threads: this.options.threads,
      maxChunkFloats: this.options.maxChunkFloats,
      slabColumns: this.options.slabColumns,
      compile: this.options.compile,
    }).then((f) => {
      const h = f.header as unknown as TorchHello;
      if (h.protocol !== TORCH_PROTOCOL) {
        throw new UserError('E_ENGINE_PROTOCOL', `torch engine speaks protocol ${h.protocol}, this client ${TORCH_PROTOCOL}`);
      }
      const want = this.load.config;
      if ((['nLayers', 'dModel', 'dMlp', 'dVocab', 'nHeads'] as const).some((k) => h.shape?.[k] !== want[k])) {
        throw new TorchEngineError(`torch engine loaded shape ${JSON.stringify(h.shape)}, expected that of ${JSON.stringify(want)}`, 'internal');
      }
      return h;
    });
    hello.catch(() => {
      if (this.proc === proc) this.ready = undefined; // a failed start is retried by the next call
    });
    return hello;
  }

  /** Writes one frame and waits for its reply; error replies become errors. */
  private exchange(proc: ChildProcessWithoutNullStreams, header: Record<string, unknown>, arrays: Array<[string, WireArray, number[]]> = []): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      this.waiting.get(proc)!.push({ resolve, reject });
      const frame = encodeFrame({ ...header, id: this.nextId++ }, arrays);
      this.bytes.sent += frame.length;
      proc.stdin.write(frame);
    }).then((f) => {
      if (f.header['ok'] === false) {
        const body = f.header['error'] as ErrorBody;
        if (body.kind === 'fatal') this.retire(proc);
        throw toError(body);
      }
      return f;
    });
  }

  /**
   * After a fatal error frame the process exits by itself: the next call starts a fresh one at once, without
   * waiting for the exit to be seen (killed if it lingers).
   */
  private retire(proc: ChildProcessWithoutNullStreams): void {
    if (this.proc === proc) {
      this.proc = undefined;
      this.ready = undefined;
    }
    proc.stdin.end();
    setTimeout(() => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'), 5000).unref();
  }

  /**
   * Queues a request behind the previous ones (the process answers in order). `cached` arrays go along only
   * when the process lacks them (a new process, or one that evicted them and said so: then they are resent once).
   */
  request(header: Record<string, unknown>, arrays: Array<[string, WireArray, number[]]>, cached: Cached = new Map()): Promise<Frame> {
    const send = (keys: string[]) =>
      this.exchange(this.proc!, header, [...arrays, ...keys.map((k): [string, WireArray, number[]] => [k, ...cached.get(k)!])]).then((f) => {
        for (const k of keys) this.known.add(k);
        return f;
      });
    const run = async () => {
      await this.start();
      try {
        return await send([...cached.keys()].filter((k) => !this.known.has(k)));
      } catch (e) {
        if (!(isUserError(e) && (e.code === 'E_ALIGN_UNKNOWN' || e.code === 'E_ARRAY_UNKNOWN'))) throw e;
        for (const k of cached.keys()) this.known.delete(k);
        return send([...cached.keys()]);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Closes stdin: the process ends at EOF (killed if it has not within 5 s). Resolves when it has exited. */
  close(): Promise<void> {
    this.closed = true;
    const proc = this.proc;
    if (!proc) return Promise.resolve();
    const exited = new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once('close', () => resolve());
    });
    proc.stdin.end();
    setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 5000).unref();
    return exited;
  }

  /** The process id, for tests that kill it. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }
}

function toError(e: ErrorBody): Error {
  if (e.kind === 'user') return new UserError(e.code, e.message.includes('import torch') ? `${e.message}; ${TORCH_INSTALL_HINT}` : e.message);
  if (e.kind === 'fatal') return new TorchEngineError(`torch engine: ${e.message}; the process exited and the next call starts a new one`, 'crash');
  if (e.kind === 'oom') return new TorchEngineError(`torch engine: out of memory (${e.message}); a smaller batch or model.dtype bfloat16 may fit`, 'oom');
  return new TorchEngineError(`torch engine: ${e.message}`, 'internal');
}
