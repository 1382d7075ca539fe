// Models for activities, loaded once per worker process: a local directory is used in place; an s3://
// prefix is downloaded once into the cache directory (atomically: a half download is never used), each object
// streamed to its file and hashed on the way (the model's identity), never held whole in memory. At most one
// torch engine per device: loading another disposes the first (two models, or two dtypes, on one GPU would run
// out of memory on every retry).
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ModelProvider, ModelSpec, StorageSpec } from '../activities/context.js';
import type { Engine, ModelShape } from '../core/engine.js';
import { UserError } from '../core/errors.js';
import { modelShape } from '../core/model/config.js';
import { identityFiles, modelIdentity, rememberIdentity } from '../core/model/identity.js';
import { rawEngine, withBos } from '../core/model/bos.js';
import { readConfig } from '../core/model/load.js';
import { autoEngine, describeEngine, openEngine, requestedEngine, resolveEngine } from '../core/model/open-engine.js';
import { resolveBackendName } from '../core/model/backend.js';
import { PoolEngine } from '../core/model/pool-engine.js';
import { openStore, type ArtifactStore } from '../core/store/index.js';
import type { TorchEngine } from '../core/model/torch-engine.js';
import { sha256 } from '../core/sweep/plan.js';
import { cacheDir } from '../core/cache-dir.js';

export function createModelCache(
  options: { backend?: string; engine?: string; dtype?: string; device?: string; threads?: number; log?: (line: string) => void } = {},
): ModelProvider & { loaded(): string[]; dispose(): Promise<void> } {
  const dirs = new Map<string, Promise<string>>();
  const engines = new Map<string, Promise<Engine>>();
  /** Device -> the cache key of the torch engine on it. */
  const torchOn = new Map<string, string>();
  const log = options.log ?? (() => {});

  /** Disposes the torch engine on `device` unless it is `key`'s, and waits for its process to exit. */
  const freeDevice = async (device: string, key: string): Promise<void> => {
    const old = torchOn.get(device);
    if (old === undefined || old === key) return;
    const p = engines.get(old);
    engines.delete(old);
    torchOn.delete(device);
    const e = await p?.catch(() => undefined);
    if (!e) return;
    log(`disposing ${old.split('|')[0]} (torch on ${device}) to load another model there`);
    // The cached engine may be withBos's wrapper: waiting for the process needs the TorchEngine inside it.
    const raw = rawEngine(e) as Partial<TorchEngine>;
    await (raw.disposeAndWait?.() ?? e.dispose());
  };

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
        const torch = resolveEngine(engine, backend) === 'torch';
        // A dtype is the torch engine's: where the engine is tfjs here (auto picking it: torch not installed, or a
        // tfjs backend named), it would be ignored and the unit run in another precision than asked. Refused now.
        if (!torch && dtype !== undefined) {
          const why = requestedEngine(engine) === 'auto' ? `engine auto picks tfjs on this worker (${hostname()}): ${autoEngine(backend).why}` : 'the engine is tfjs';
          throw new UserError('E_ENGINE_DTYPE', `${model.path}: dtype ${dtype} is for the torch engine, but ${why}; install the torch engine on the workers, or remove dtype`);
        }
        const device = options.device ?? 'auto';
        const freed = torch ? freeDevice(device, key) : Promise.resolve();
        if (torch) torchOn.set(device, key);
        p = Promise.all([dir(model, storage), freed]).then(async ([d]) => {
          // config.json first, read as the CLI reads it: a malformed one is the user's mistake, refused with its code
          // (not a SyntaxError from an engine's own read, which Temporal would retry as a bug).
          readConfig(d);
          // wasm and cpu compute synchronously: in worker threads (a pool of `threads`, default 1), so that this
          // process's event loop stays free for workflow tasks, queries and heartbeats while a unit computes.
          // webgpu computes on the device, tensorflow's native addon is not known to load in worker threads, and
          // torch computes in its own process: those are opened as they are.
          const name = resolveBackendName(backend);
          const pooled = resolveEngine(engine, backend) === 'tfjs' && (name === 'wasm' || name === 'cpu');
          const e = pooled
            ? withBos(await PoolEngine.load(d, { threads: options.threads ?? 1, backend: name }))
            : await openEngine(d, { engine, backend, dtype, device: options.device, log });
          log(`loaded ${model.path} on ${await describeEngine(e)}${pooled && (options.threads ?? 1) > 1 ? ` x ${options.threads} threads` : ''}`);
          return e;
        });
        engines.set(key, p);
        p.catch(() => {
          if (engines.get(key) === p) engines.delete(key);
          if (torch && torchOn.get(device) === key) torchOn.delete(device);
        });
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
      torchOn.clear();
      for (const r of await Promise.allSettled(all)) if (r.status === 'fulfilled') r.value.dispose();
    },
  };
}

async function download(uri: string, storage: StorageSpec, log: (line: string) => void): Promise<string> {
  const target = path.join(cacheDir(), 'models', sha256(uri).slice(0, 24));
  const store = openStore(uri, { endpoint: storage.endpoint, region: storage.region, forcePathStyle: storage.forcePathStyle });
  return downloadModel(store, uri, target, log);
}

/** What `.complete` holds: the source, and the identity hashed while downloading (modelIdentity's, not re-read). */
interface Complete {
  uri: string;
  identity: string;
}

/**
 * The model files at the top of `store` into `target`, atomically (a scratch folder renamed at the end). Each object
 * streams to its file (Node caps one buffer at 4 GiB; Pythia-12b's shards are about 10 GB), and the files that
 * make the model's identity are hashed as they stream, in modelIdentity's order, so it never re-reads them.
 */
export async function downloadModel(store: ArtifactStore, uri: string, target: string, log: (line: string) => void = () => {}): Promise<string> {
  const complete = path.join(target, '.complete');
  if (existsSync(complete)) {
    try {
      const c = JSON.parse(readFileSync(complete, 'utf8')) as Complete;
      if (c.uri === uri && typeof c.identity === 'string') rememberIdentity(target, c.identity);
    } catch {
      // a download made before identities were recorded: modelIdentity reads the files once
    }
    return target;
  }
  const keys = (await store.list('')).filter((k) => !k.includes('/')).sort();
  if (!keys.includes('config.json')) throw new UserError('E_MODEL_MISSING_FILE', `${uri}/config.json: not found; is ${uri} a Hugging Face model prefix?`);
  // Host and pid: replicas sharing a cache volume (each pid 1 in its container) must not share a scratch folder.
  const scratch = `${target}.part-${hostname()}-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  log(`downloading ${uri} (${keys.length} files) to ${target}`);
  const identity = createHash('sha256');
  const counted = new Set(identityFiles(keys));
  for (const key of keys) {
    // identityFiles' order is the sorted order of the keys (as modelIdentity sorts names).
    if (counted.has(key)) identity.update(`${key}\0`);
    await pipeline(await store.openRead(key), hashing(counted.has(key) ? identity : undefined), createWriteStream(path.join(scratch, key)));
  }
  const id = `sha256:${identity.digest('hex')}`;
  writeFileSync(path.join(scratch, '.complete'), JSON.stringify({ uri, identity: id } satisfies Complete));
  rmSync(target, { recursive: true, force: true });
  mkdirSync(path.dirname(target), { recursive: true });
  renameSync(scratch, target);
  rememberIdentity(target, id);
  return target;
}

/** A pass-through stream that feeds what passes into `hash` (none: passes only). */
function hashing(hash: Hash | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash?.update(chunk);
      done(null, chunk);
    },
  });
}
