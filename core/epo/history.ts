// The full record of an EPO run, columnar: every iteration's candidates (the M parents, then the M*r
// children), their f, CE and validity, and which candidate each slot kept. Format: docs/epo-history.md.
import { decodeTensors, encodeTensors, type ArrayTensor } from '../tensor-file.js';
import { UserError } from '../errors.js';

export const HISTORY_FORMAT = 'dreamsweep.epo-history';
export const HISTORY_VERSION = '1';

/** One iteration: R = M * (1 + r) candidate rows, parents first in slot order, then children. */
export interface IterationRecord {
  ids: Int32Array; // [R, n]
  f: Float32Array; // [R]
  ce: Float32Array; // [R]
  valid: Uint8Array; // [R] 0 = banned text or failed retokenisation: never selected
  keep: Int32Array; // [M] row chosen by each slot
  /** lambda_r when this iteration restarted, else NaN. */
  restartLambda: number;
  /** [R] how each row was made (0 parent, 1 single, 2 two-token, 3 shift): only when a mutation option is on. */
  mutation?: Uint8Array;
}

export class History {
  readonly iterations: IterationRecord[] = [];
  constructor(
    readonly seqLen: number,
    readonly lambdas: number[],
  ) {}

  get rowsPerIteration(): number {
    return this.iterations[0]?.f.length ?? 0;
  }

  push(rec: IterationRecord): void {
    this.iterations.push(rec);
  }

  /** Every candidate of every iteration as flat columns (rows may repeat: parents reappear each iteration). */
  flat(): { ids: Int32Array; f: Float32Array; ce: Float32Array; valid: Uint8Array; rows: number } {
    const rows = this.iterations.reduce((a, it) => a + it.f.length, 0);
    const ids = new Int32Array(rows * this.seqLen);
    const f = new Float32Array(rows);
    const ce = new Float32Array(rows);
    const valid = new Uint8Array(rows);
    let at = 0;
    for (const it of this.iterations) {
      ids.set(it.ids, at * this.seqLen);
      f.set(it.f, at);
      ce.set(it.ce, at);
      valid.set(it.valid, at);
      at += it.f.length;
    }
    return { ids, f, ce, valid, rows };
  }

  /** Tensors for the history file (shape [T, R, ...]); metadata is added by the caller. */
  toTensors(): Record<string, ArrayTensor> {
    const T = this.iterations.length;
    const R = this.rowsPerIteration;
    const M = this.lambdas.length;
    const { ids, f, ce, valid } = this.flat();
    const keep = new Int32Array(T * M);
    const restart = new Float64Array(T);
    this.iterations.forEach((it, t) => {
      keep.set(it.keep, t * M);
      restart[t] = it.restartLambda;
    });
    const withMutation = T > 0 && this.iterations.every((it) => it.mutation);
    const mutation = new Uint8Array(withMutation ? T * R : 0);
    if (withMutation) this.iterations.forEach((it, t) => mutation.set(it.mutation!, t * R));
    return {
      ...(withMutation ? { mutation: { dtype: 'U8' as const, shape: [T, R], data: mutation } } : {}),
      ids: { dtype: 'I32', shape: [T, R, this.seqLen], data: ids },
      f: { dtype: 'F32', shape: [T, R], data: f },
      ce: { dtype: 'F32', shape: [T, R], data: ce },
      valid: { dtype: 'U8', shape: [T, R], data: valid },
      keep: { dtype: 'I32', shape: [T, M], data: keep },
      restart_lambda: { dtype: 'F64', shape: [T], data: restart },
      lambdas: { dtype: 'F64', shape: [M], data: Float64Array.from(this.lambdas) },
    };
  }

  static fromTensors(t: Record<string, ArrayTensor>, source: string): History {
    const need = ['ids', 'f', 'ce', 'valid', 'keep', 'restart_lambda', 'lambdas'];
    const missing = need.filter((k) => !t[k]);
    if (missing.length) throw new UserError('E_HISTORY_FORMAT', `${source}: not an EPO history: missing ${missing.join(', ')}`);
    const [T, R, n] = t.ids!.shape as [number, number, number];
    const M = t.lambdas!.shape[0]!;
    const h = new History(n, Array.from(t.lambdas!.data as Float64Array));
    for (let i = 0; i < T; i++) {
      h.push({
        ids: (t.ids!.data as Int32Array).slice(i * R * n, (i + 1) * R * n),
        f: (t.f!.data as Float32Array).slice(i * R, (i + 1) * R),
        ce: (t.ce!.data as Float32Array).slice(i * R, (i + 1) * R),
        valid: (t.valid!.data as Uint8Array).slice(i * R, (i + 1) * R),
        keep: (t.keep!.data as Int32Array).slice(i * M, (i + 1) * M),
        restartLambda: (t.restart_lambda!.data as Float64Array)[i]!,
        ...(t.mutation ? { mutation: (t.mutation.data as Uint8Array).slice(i * R, (i + 1) * R) } : {}),
      });
    }
    return h;
  }
}

/** The history file's bytes; `info` (config, objective, model) is stored as JSON metadata. */
export function encodeHistory(history: History, info: Record<string, unknown>): Uint8Array {
  return encodeTensors(history.toTensors(), {
    format: HISTORY_FORMAT,
    version: HISTORY_VERSION,
    info: JSON.stringify(info),
  });
}

export function decodeHistory(bytes: Uint8Array, source: string): { history: History; info: Record<string, unknown> } {
  const { tensors, metadata } = decodeTensors(bytes, source);
  if (metadata.format !== HISTORY_FORMAT) {
    throw new UserError('E_HISTORY_FORMAT', `${source}: format is ${JSON.stringify(metadata.format)}, expected ${HISTORY_FORMAT}`);
  }
  if (metadata.version !== HISTORY_VERSION) {
    throw new UserError('E_HISTORY_FORMAT', `${source}: history version ${metadata.version} is not supported (this dreamsweep reads ${HISTORY_VERSION})`);
  }
  return { history: History.fromTensors(tensors, source), info: JSON.parse(metadata.info ?? '{}') };
}
