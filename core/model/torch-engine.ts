// The PyTorch engine: core/engine.ts served by a Python process (engines/torch, managed by torch-process.ts) over a
// framed stdio protocol (core/model/torch-wire.ts). One process per engine; requests go one at a time, in order. If
// the process dies (a crash, the kernel's OOM killer) the calls in flight fail with a retryable error and the next
// call starts a fresh process; a CUDA out-of-memory error is retryable too and leaves the process running (the engine
// first retries inside itself in smaller chunks). A sticky CUDA error (a device-side assert, an illegal address)
// leaves the CUDA context unusable: the process answers it with a `fatal` error frame and exits, and the call fails
// as after a crash (retryable; the next call starts a fresh process).
import { createHash } from 'node:crypto';
import type { AlignVectors, Engine, EvaluateOptions, Evaluation, GradientOptions, GradientResult, ModelShape, Objective, TapOptions, TapValues, Tokenizer } from '../engine.js';
import { UserError } from '../errors.js';
import { modelShape, type ModelConfig } from './config.js';
import { checkGradientInputs, checkModelIds, checkPrefixHint } from './engine-input.js';
import { readConfig, readTokenizer } from './load.js';
import { parseTap, tapDim } from './taps.js';
import { validateObjective } from './objectives.js';
import { TORCH_DTYPES, type TorchDtype } from './names.js';
import { torchPython } from './torch-env.js';
import { EngineProcess, TorchEngineError, type Cached, type LoadRequest, type TorchHello, type WireBytes } from './torch-process.js';
import type { Frame, WireArray } from './torch-wire.js';

export interface TorchEngineOptions {
  /** `auto` (default: CUDA when torch sees a device, else the CPU), `cpu`, `cuda`, `cuda:N`. */
  device?: string;
  /** `float32` (parity), `bfloat16` or `float16` (speed); default bf16 on CUDA, float32 on the CPU. */
  dtype?: TorchDtype | 'auto';
  /** CPU threads for torch (torch's default when unset). */
  threads?: number;
  /** The Python to run; default torch-env.ts's resolution. */
  python?: string;
  /** Largest [rows, n, dVocab] tensor in floats before a batch is split (default 2^26 on CPU, 2^28 on CUDA). */
  maxChunkFloats?: number;
  /** Use EvaluateOptions.prefix (default true); false computes every prompt in full (for benchmarks). */
  prefixReuse?: boolean;
  /**
   * torch.compile the blocks. Default: DREAMSWEEP_TORCH_COMPILE (0 or 1) where set, else on CUDA (fewer kernel
   * launches) and off on the CPU (measured no faster; engines/torch/README.md). The graphs EPO uses are compiled
   * while the model loads (tens of seconds); a block that cannot compile runs as without.
   */
  compile?: boolean;
  /** Rows of W_U per slab for the cross-entropy (default 1024 on the CPU, none on CUDA; 0: none). */
  slabColumns?: number;
  /** Receives the process's log lines: the device `auto` chose, chunks shrunk after out of memory. */
  log?: (line: string) => void;
  /**
   * Tests only: faults the process simulates so that a CPU shows the GPU's failures (DREAMSWEEP_TORCH_TEST_FAULTS,
   * engines/torch/dreamsweep_torch/__main__.py): `cuda-error@N`, `oom-above=R`, `fd1-noise`, comma-separated.
   */
  testFaults?: string;
}

function flat2d(ids: number[][]): Int32Array {
  const n = ids[0]?.length ?? 0;
  const out = new Int32Array(ids.length * n);
  ids.forEach((row, i) => out.set(row, i * n));
  return out;
}

/** sha-256 of an array's bytes, 32 hex digits: the content key of arrays a process keeps. */
function contentKey(a: Float32Array): string {
  return createHash('sha256')
    .update(Buffer.from(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex')
    .slice(0, 32);
}

/** Content keys of arrays passed so far, hashed once per array (the arrays must not change: docs in core/engine.ts). */
const contentKeys = new WeakMap<Float32Array, string>();
function keyOf(a: Float32Array): string {
  let key = contentKeys.get(a);
  if (key === undefined) contentKeys.set(a, (key = contentKey(a)));
  return key;
}

/**
 * An objective as it crosses the wire: a header, its arrays, and `cached` arrays the process keeps by content key
 * (a TopK SAE's whole encoder, sent once per process: Gemma Scope's 131k latents x 2304 are 1.2 GB).
 */
function objectiveFields(o: Objective): { header: Record<string, unknown>; arrays: Array<[string, WireArray, number[]]>; cached: Cached } {
  if (o.kind === 'resid') {
    return { header: { kind: 'resid', layer: o.layer }, arrays: [['vector', Float32Array.from(o.vector), [o.vector.length]]], cached: new Map() };
  }
  if (o.kind === 'sae') {
    const a = o.activation;
    const arrays: Array<[string, WireArray, number[]]> = [['wEnc', o.wEnc, [o.wEnc.length]]];
    if (o.bDec) arrays.push(['bDec', o.bDec, [o.bDec.length]]);
    const cached: Cached = new Map();
    let activation: Record<string, unknown> = a.kind === 'jumprelu' ? { kind: 'jumprelu', threshold: a.threshold } : { kind: a.kind };
    if (a.kind === 'topk') {
      const key = `${keyOf(a.wEncAll)}${keyOf(a.bEncAll)}x${a.dSae}`;
      cached.set(`sae:${key}:wEncAll`, [a.wEncAll, [a.wEncAll.length / a.dSae, a.dSae]]);
      cached.set(`sae:${key}:bEncAll`, [a.bEncAll, [a.dSae]]);
      activation = { kind: 'topk', k: a.k, dSae: a.dSae, latent: a.latent, key };
    }
    const header = {
      kind: 'sae',
      tap: o.tap,
      ...(o.normalize !== undefined && { normalize: o.normalize }),
      bEnc: o.bEnc,
      activation,
      latent: o.latent,
      dSae: o.dSae,
    };
    return { header, arrays, cached };
  }
  return { header: { ...o }, arrays: [], cached: new Map() };
}

/** A model of any family (families/) in a PyTorch process. */
export class TorchEngine implements Engine {
  readonly shape: ModelShape;
  readonly backend = 'torch';
  private readonly prefixReuse: boolean;
  /** Content keys of the align vector sets passed so far (the arrays must not change: docs in core/engine.ts). */
  private readonly alignKeys = new WeakMap<Float32Array, string>();

  private constructor(
    readonly cfg: ModelConfig,
    readonly tokenizer: Tokenizer,
    private readonly proc: EngineProcess,
    /** The handshake of the process as first started: device, dtype, versions. */
    readonly hello: TorchHello,
    options: TorchEngineOptions,
  ) {
    this.shape = modelShape(cfg);
    this.prefixReuse = options.prefixReuse ?? true;
  }

  /** Loads a Hugging Face model directory in a new engine process. */
  static async load(dir: string, options: TorchEngineOptions = {}): Promise<TorchEngine> {
    const cfg = readConfig(dir);
    const tokenizer = readTokenizer(dir, cfg);
    return TorchEngine.start(cfg, tokenizer, { config: cfg, dir }, options);
  }

  /** An engine with random weights of the given shape, built on the device (benchmarks; no checkpoint). */
  static async random(cfg: ModelConfig, tokenizer: Tokenizer, seed: number, options: TorchEngineOptions = {}): Promise<TorchEngine> {
    return TorchEngine.start(cfg, tokenizer, { config: cfg, random: true, seed }, options);
  }

  private static async start(cfg: ModelConfig, tokenizer: Tokenizer, load: LoadRequest, options: TorchEngineOptions): Promise<TorchEngine> {
    if (options.dtype !== undefined && options.dtype !== 'auto' && !(TORCH_DTYPES as readonly string[]).includes(options.dtype)) {
      throw new UserError('E_TORCH_DTYPE', `dtype: expected auto, ${TORCH_DTYPES.join(', ')}, got "${options.dtype}"`);
    }
    const proc = new EngineProcess(torchPython(options.python), load, options);
    try {
      const hello = await proc.start();
      return new TorchEngine(cfg, tokenizer, proc, hello, options);
    } catch (e) {
      void proc.close();
      throw e;
    }
  }

  /** "torch 2.15.0, cuda:0 (NVIDIA H200), bfloat16", for logs and `dreamsweep backends`. */
  describe(): string {
    return `torch ${this.hello.torch}, ${this.hello.device}, ${this.hello.dtype}${this.hello.compiled ? ', compiled' : ''}`;
  }

  /** Peak GPU memory since the last call, in bytes (null on the CPU). */
  async peakMemory(): Promise<{ peakBytes: number | null; totalBytes: number | null }> {
    const f = await this.proc.request({ op: 'memory' }, []);
    return { peakBytes: f.header['peakBytes'] as number | null, totalBytes: f.header['totalBytes'] as number | null };
  }

  /** Bytes over the pipe so far, both ways (the scan bench reports them per batch). */
  get wireBytes(): WireBytes {
    return { ...this.proc.bytes };
  }

  /** The engine process's id (tests kill it to check the restart). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  async evaluate(ids: number[][], objective: Objective, options: EvaluateOptions = {}): Promise<Evaluation> {
    checkModelIds(ids, this.cfg);
    validateObjective(objective, this.cfg);
    const n = ids[0]!.length;
    const obj = objectiveFields(objective);
    const arrays: Array<[string, WireArray, number[]]> = [['ids', flat2d(ids), [ids.length, n]], ...obj.arrays];
    const hint = options.prefix;
    if (hint && this.prefixReuse) {
      checkPrefixHint(ids, hint);
      if (hint.parents.length > 0) {
        arrays.push(
          ['parents', flat2d(hint.parents), [hint.parents.length, n]],
          ['parentOf', Int32Array.from(hint.parentOf), [ids.length]],
          ['from', Int32Array.from(hint.from), [ids.length]],
        );
      }
    }
    const f = await this.proc.request({ op: 'evaluate', objective: obj.header }, arrays, obj.cached);
    return { f: f32(f, 'f'), ce: f32(f, 'ce') };
  }

  async gradients(ids: number[][], lambdas: number[], objective: Objective, k: number, options: GradientOptions = {}): Promise<GradientResult> {
    checkModelIds(ids, this.cfg);
    validateObjective(objective, this.cfg);
    const V = this.cfg.dVocab;
    const allowed = checkGradientInputs(ids.length, lambdas, k, V, this.tokenizer.vocabSize, options.allowed);
    const n = ids[0]!.length;
    const obj = objectiveFields(objective);
    const f = await this.proc.request(
      { op: 'gradients', objective: obj.header, k, full: options.full === true },
      [['ids', flat2d(ids), [ids.length, n]], ['lambdas', Float32Array.from(lambdas), [ids.length]], ['allowed', allowed, [V]], ...obj.arrays],
      obj.cached,
    );
    return {
      f: f32(f, 'f'),
      ce: f32(f, 'ce'),
      topk: i32(f, 'topk'),
      k,
      ...(options.full ? { grads: f32(f, 'grads') } : {}),
    };
  }

  async taps(ids: number[][], names: string[], options: TapOptions = {}): Promise<TapValues> {
    checkModelIds(ids, this.cfg);
    const dims: Record<string, number> = {};
    for (const name of names) dims[name] = tapDim(parseTap(name, this.cfg), this.cfg);
    const n = ids[0]!.length;
    const wantCe = options.ce ?? true;
    const align = Object.entries(options.align ?? {}).map(([name, set]) => ({ name, ...this.alignSet(name, set) }));
    const cached: Cached = new Map(align.map((a) => [`align:${a.key}`, [a.set.vectors, [a.set.count, a.dim]]]));
    const f = await this.proc.request(
      {
        op: 'taps',
        names: [...new Set(names)],
        ce: wantCe,
        cePositions: options.cePositions === true,
        align: align.map(({ name, key }) => ({ name, key })),
      },
      [['ids', flat2d(ids), [ids.length, n]]],
      cached,
    );
    const values: Record<string, Float32Array> = {};
    for (const name of names) if (!options.align?.[name]) values[name] = f32(f, `tap:${name}`);
    const result: TapValues = { values, dims, ce: f32(f, 'ce') };
    if (options.cePositions) result.cePositions = f.arrays.has('cePositions') ? f32(f, 'cePositions') : new Float32Array(0);
    if (align.length) result.alignments = Object.fromEntries(align.map((a) => [a.name, f64(f, `align:${a.name}`)]));
    return result;
  }

  /** Checks one `align` entry and names it by content (sha-256 of the vectors, hashed once per array). */
  private alignSet(name: string, set: AlignVectors): { set: AlignVectors; key: string; dim: number } {
    const tap = parseTap(name, this.cfg);
    if (tap.kind === 'logits') throw new UserError('E_ENGINE_INPUT', `taps: align: "${name}": alignments are for the residual and MLP taps, not the logits`);
    const dim = tapDim(tap, this.cfg);
    if (!Number.isSafeInteger(set.count) || set.count < 0 || set.vectors.length !== set.count * dim) {
      throw new UserError(
        'E_ENGINE_INPUT',
        `taps: align: "${name}": ${set.vectors.length} values are not ${set.count} vectors of the tap's ${dim} entries; pass vectors of length ${dim} (the model's)`,
      );
    }
    let key = this.alignKeys.get(set.vectors);
    if (key === undefined) {
      const bytes = Buffer.from(set.vectors.buffer, set.vectors.byteOffset, set.vectors.byteLength);
      key = `${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}x${set.count}`;
      this.alignKeys.set(set.vectors, key);
    }
    return { set, key, dim };
  }

  dispose(): void {
    void this.proc.close();
  }

  /** dispose(), resolving once the process has exited (its device memory is then free for another engine). */
  disposeAndWait(): Promise<void> {
    return this.proc.close();
  }
}

function f32(f: Frame, name: string): Float32Array {
  const a = f.arrays.get(name);
  if (!a || !(a.data instanceof Float32Array)) throw new TorchEngineError(`torch engine: reply lacks float32 array ${name}`, 'internal');
  return a.data;
}

function f64(f: Frame, name: string): Float64Array {
  const a = f.arrays.get(name);
  if (!a || !(a.data instanceof Float64Array)) throw new TorchEngineError(`torch engine: reply lacks float64 array ${name}`, 'internal');
  return a.data;
}

function i32(f: Frame, name: string): Int32Array {
  const a = f.arrays.get(name);
  if (!a || !(a.data instanceof Int32Array)) throw new TorchEngineError(`torch engine: reply lacks int32 array ${name}`, 'internal');
  return a.data;
}
