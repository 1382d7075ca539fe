// The report thread (thread.ts starts it): aggregates the sweep, attributes its best prompts and renders
// the files, with the store and the engine's compute answered by the thread that started it, and the
// tokenizer read here from the model directory (as every engine reads it), since decoding is synchronous.
import { parentPort, workerData } from 'node:worker_threads';
import type { Engine } from '../engine.js';
import { readConfig, readTokenizer } from '../model/load.js';
import type { ArtifactStore } from '../store/index.js';
import { aggregateSweep } from './aggregate.js';
import { attributeBestPrompts } from './attribution.js';
import { buildReport } from './index.js';
import { serialiseError } from '../errors.js';
import type { CallReply, ReportThreadJob, ThreadMessage } from './thread.js';

const port = parentPort!;
const job = workerData as ReportThreadJob;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
let nextId = 1;

/** A failed call's error carries its id, so the caller rethrows its own error object when it ends the job. */
class CallFailed extends Error {
  constructor(
    readonly callId: number,
    error: { name: string; message: string; code?: string },
  ) {
    super(error.message);
    this.name = error.name;
    if (error.code) (this as { code?: string }).code = error.code;
  }
}

function call(target: 'store' | 'engine', method: string, args: unknown[]): Promise<never> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    port.postMessage({ type: 'call', id, target, method, args } satisfies ThreadMessage);
  });
}

port.on('message', (msg: CallReply) => {
  const p = pending.get(msg.id);
  if (!p) return;
  pending.delete(msg.id);
  if (msg.ok) p.resolve(msg.value);
  else p.reject(new CallFailed(msg.id, msg.error));
});

const readOnly = (what: string) => () => Promise.reject(new Error(`report thread: the store is read-only here (${what})`));
const store: ArtifactStore = {
  uri: job.storeUri,
  get: (key) => call('store', 'get', [key]),
  exists: (key) => call('store', 'exists', [key]),
  list: (prefix) => call('store', 'list', [prefix]),
  put: readOnly('put'),
  delete: readOnly('delete'),
  openRead: readOnly('openRead'),
  putFile: readOnly('putFile'),
};

async function run(): Promise<void> {
  const tokenizer = readTokenizer(job.modelDir, readConfig(job.modelDir));
  const engine: Engine = {
    shape: job.shape,
    tokenizer,
    backend: job.backend,
    evaluate: (...args) => call('engine', 'evaluate', args),
    gradients: (...args) => call('engine', 'gradients', args),
    taps: (...args) => call('engine', 'taps', args),
    dispose: () => {},
  };
  const data = await aggregateSweep(store, job.plan, { decode: (ids) => tokenizer.decode(ids) });
  const attribution = await attributeBestPrompts(engine, store, data, { onProgress: (p) => port.postMessage({ type: 'progress', ...p } satisfies ThreadMessage) });
  const files = await buildReport(data, attribution);
  port.postMessage({ type: 'done', result: { files, missing: data.missing.length } } satisfies ThreadMessage);
}

run().catch((e: unknown) => {
  port.postMessage({ type: 'failed', error: serialiseError(e), ...(e instanceof CallFailed && { callId: e.callId }) } satisfies ThreadMessage);
});
