// A sweep's report built in a worker thread (aggregation, attribution's bookkeeping, charts, HTML): a big
// report takes seconds of synchronous work, which on the worker's event loop would stall its workflow
// tasks, queries and heartbeats. The thread only computes; it reads the store and runs the engine through
// this side (so the worker's patient store and loaded engine serve it), and the caller writes the files.
import { Worker } from 'node:worker_threads';
import type { Engine } from '../engine.js';
import { deserialiseError, serialiseError, type SerialisedError } from '../errors.js';
import type { ArtifactStore } from '../store/index.js';
import type { SweepPlan } from '../sweep/plan.js';

/** What the thread needs to start: the plan, and the model directory its tokenizer is read from. */
export interface ReportThreadJob {
  plan: SweepPlan;
  modelDir: string;
  storeUri: string;
  shape: Engine['shape'];
  backend: string;
}

export interface ReportThreadResult {
  files: Record<string, string | Uint8Array>;
  missing: number;
}

/** Thread -> caller. `storeError` names a failed store call whose original error is rethrown here. */
export type ThreadMessage =
  | { type: 'call'; id: number; target: 'store' | 'engine'; method: string; args: unknown[] }
  | { type: 'progress'; done: number; of: number }
  | { type: 'done'; result: ReportThreadResult }
  | { type: 'failed'; error: SerialisedError; callId?: number };

/** Caller -> thread: the answer to a call (`failed` keeps the error here, under the call's id). */
export type CallReply = { type: 'reply'; id: number; ok: true; value: unknown } | { type: 'reply'; id: number; ok: false; error: SerialisedError };

const STORE_CALLS = new Set(['get', 'exists', 'list']);
const ENGINE_CALLS = new Set(['evaluate', 'gradients', 'taps']);

/**
 * Why: the report unit's work, off this thread. Resolves with the files (byte-identical to buildReport's
 * on this thread) or rejects with the thread's error: a store or engine error as it was thrown here, a
 * UserError with its code, else an Error with the thread's stack. `signal` stops the thread.
 */
export async function buildReportInThread(
  store: ArtifactStore,
  engine: Engine,
  job: Omit<ReportThreadJob, 'storeUri' | 'shape' | 'backend'>,
  options: { onProgress?: (p: { done: number; of: number }) => void; signal?: AbortSignal } = {},
): Promise<ReportThreadResult> {
  options.signal?.throwIfAborted();
  const workerData: ReportThreadJob = { ...job, storeUri: store.uri, shape: engine.shape, backend: engine.backend };
  const worker = new Worker(new URL('./thread-boot.js', import.meta.url), { workerData });
  const callErrors = new Map<number, unknown>();
  try {
    return await new Promise<ReportThreadResult>((resolve, reject) => {
      // Messages arrive in the async context the Worker was made in, the caller's: a store call that waits
      // out an outage heartbeats the caller's activity (the test checks).
      const onMessage = (msg: ThreadMessage) => {
        if (msg.type === 'call') {
          answer(msg).then(
            (value) => worker.postMessage({ type: 'reply', id: msg.id, ok: true, value } satisfies CallReply),
            (e: unknown) => {
              callErrors.set(msg.id, e);
              worker.postMessage({ type: 'reply', id: msg.id, ok: false, error: serialiseError(e) } satisfies CallReply);
            },
          );
        } else if (msg.type === 'progress') {
          options.onProgress?.({ done: msg.done, of: msg.of });
        } else if (msg.type === 'done') {
          resolve(msg.result);
        } else {
          reject(msg.callId !== undefined && callErrors.has(msg.callId) ? callErrors.get(msg.callId) : deserialiseError(msg.error));
        }
      };
      const answer = async (msg: Extract<ThreadMessage, { type: 'call' }>): Promise<unknown> => {
        if (msg.target === 'store' && STORE_CALLS.has(msg.method)) return (store[msg.method as 'get'] as (...a: unknown[]) => Promise<unknown>).apply(store, msg.args);
        if (msg.target === 'engine' && ENGINE_CALLS.has(msg.method)) return (engine[msg.method as 'evaluate'] as (...a: unknown[]) => Promise<unknown>).apply(engine, msg.args);
        throw new Error(`report thread: no ${msg.target} call ${msg.method}`);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`report thread exited (code ${code}) before it finished`)));
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true });
    });
  } finally {
    await worker.terminate();
  }
}
