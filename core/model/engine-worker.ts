// One engine per worker thread (the wasm backend is single-threaded under Node): loads the model named in
// workerData and answers evaluate / gradients / taps messages from a PoolEngine.
import { parentPort, workerData } from 'node:worker_threads';
import { serialiseError } from '../errors.js';
import { TfjsEngine, type TfjsEngineOptions } from './tfjs-engine.js';

export interface WorkerRequest {
  id: number;
  method: 'evaluate' | 'gradients' | 'taps';
  args: unknown[];
}

const { dir, options } = workerData as { dir: string; options: TfjsEngineOptions };
const port = parentPort!;
const ready = TfjsEngine.load(dir, options);
ready.then(
  () => port.postMessage({ id: 0, ok: true }),
  (e: unknown) => port.postMessage({ id: 0, ok: false, error: serialiseError(e) }),
);

port.on('message', async (req: WorkerRequest) => {
  try {
    const engine = await ready;
    const fn = engine[req.method] as (...a: unknown[]) => Promise<object>;
    const result = await fn.apply(engine, req.args);
    port.postMessage({ id: req.id, ok: true, result }, transferables(result));
  } catch (e) {
    port.postMessage({ id: req.id, ok: false, error: serialiseError(e) });
  }
});

function transferables(result: object): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const visit = (v: unknown) => {
    if (ArrayBuffer.isView(v)) out.push(v.buffer as ArrayBuffer);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(result);
  return [...new Set(out)];
}
