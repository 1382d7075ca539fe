// Models for activities, loaded once per worker process: a local directory is used in place; an s3://
// prefix is downloaded once into the cache directory (atomically: a half download is never used).
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { ModelProvider, ModelSpec, StorageSpec } from '../activities/context.js';
import type { Engine, ModelShape } from '../core/engine.js';
import { UserError } from '../core/errors.js';
import { modelShape } from '../core/model/config.js';
import { modelIdentity } from '../core/model/identity.js';
import { readConfig } from '../core/model/load.js';
import { describeEngine, openEngine, resolveEngine } from '../core/model/open-engine.js';
import { resolveBackendName } from '../core/model/backend.js';
import { PoolEngine } from '../core/model/pool-engine.js';
import { openStore } from '../core/store/index.js';
import { sha256 } from '../core/sweep/plan.js';
import { cacheDir } from '../infra/binaries.js';

export function createModelCache(
  options: { backend?: string; engine?: string; dtype?: string; device?: string; threads?: number; log?: (line: string) => void } = {},
): ModelProvider & { loaded(): string[]; dispose(): Promise<void> } {
  const dirs = new Map<string, Promise<string>>();
  const engines = new Map<string, Promise<Engine>>();
  const log = options.log ?? (() => {});

  const dir = (model: ModelSpec, storage: StorageSpec): Promise<string> => {
    let p = dirs.get(model.path);
    if (!p) {
      p = model.path.startsWith('s3://') ? download(model.path, storage, log) : Promise.resolve(path.resolve(model.path));
      dirs.set(model.path, p);
      p.catch(() => dirs.delete(model.path));
    }
    return p;
  };

  return {
    dir,
    async engine(model, storage) {
      // The worker's --backend wins over the sweep file's: the operator knows the hardware.
      const backend = options.backend ?? model.backend;
      const engine = options.engine ?? model.engine;
      const dtype = options.dtype ?? model.dtype;
      const key = `${model.path}|${engine}|${backend ?? ''}|${dtype ?? ''}`;
      let p = engines.get(key);
      if (!p) {
        p = dir(model, storage).then(async (d) => {
          // config.json first, read as the CLI reads it: a malformed one is the user's mistake, refused with its code
          // (not a SyntaxError from an engine's own read, which Temporal would retry as a bug).
          readConfig(d);
          // wasm and cpu compute synchronously: in worker threads (a pool of `threads`, default 1), so that this
          // process's event loop stays free for workflow tasks, queries and heartbeats while a unit computes.
          // webgpu computes on the device, tensorflow's native addon is not known to load in worker threads, and
          // torch computes in its own process: those are opened as they are.
          const name = resolveBackendName(backend);
          const pooled = resolveEngine(engine) === 'tfjs' && (name === 'wasm' || name === 'cpu');
          const e = pooled ? await PoolEngine.load(d, { threads: options.threads ?? 1, backend: name }) : await openEngine(d, { engine, backend, dtype, device: options.device });
          log(`loaded ${model.path} on ${await describeEngine(e)}${pooled && (options.threads ?? 1) > 1 ? ` x ${options.threads} threads` : ''}`);
          return e;
        });
        engines.set(key, p);
        p.catch(() => engines.delete(key));
      }
      return p;
    },
    async describe(model, storage): Promise<{ shape: ModelShape; modelId: string }> {
      const d = await dir(model, storage);
      // The same checks, codes and wording as on the launching machine (readConfig): a malformed config.json
      // fails the plan at once, not after the activity's retries.
      const cfg = readConfig(d);
      return { shape: modelShape(cfg), modelId: modelIdentity(d) };
    },
    loaded: () => [...engines.keys()],
    /** Frees every loaded engine (a pool's threads would otherwise keep the process alive). */
    async dispose() {
      const all = [...engines.values()];
      engines.clear();
      for (const r of await Promise.allSettled(all)) if (r.status === 'fulfilled') r.value.dispose();
    },
  };
}

async function download(uri: string, storage: StorageSpec, log: (line: string) => void): Promise<string> {
  const target = path.join(cacheDir(), 'models', sha256(uri).slice(0, 24));
  if (existsSync(path.join(target, '.complete'))) return target;
  const store = openStore(uri, { endpoint: storage.endpoint, region: storage.region, forcePathStyle: storage.forcePathStyle });
  const keys = (await store.list('')).filter((k) => !k.includes('/'));
  if (!keys.includes('config.json')) throw new UserError('E_MODEL_MISSING_FILE', `${uri}/config.json: not found; is ${uri} a Hugging Face model prefix?`);
  // Host and pid: replicas sharing a cache volume (each pid 1 in its container) must not share a scratch folder.
  const scratch = `${target}.part-${hostname()}-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  log(`downloading ${uri} (${keys.length} files) to ${target}`);
  for (const key of keys) {
    const bytes = await store.get(key);
    writeFileSync(path.join(scratch, key), bytes!);
  }
  writeFileSync(path.join(scratch, '.complete'), uri);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(path.dirname(target), { recursive: true });
  renameSync(scratch, target);
  return target;
}
