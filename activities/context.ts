// What activities need from the worker that hosts them, passed in by the factory (no globals): where
// artifacts live, and loaded models. Also the per-process memos of plans and vector sets read from the
// store: both are named by the hash of their bytes, so a memo entry is correct for as long as it lives.
import { Context } from '@temporalio/activity';
import type { Engine, ModelShape } from '../core/engine.js';
import { loadVectorSet, type VectorSet } from '../core/objectives/vectors.js';
import type { ArtifactStore } from '../core/store/index.js';
import type { SweepPlan } from '../core/sweep/plan.js';
import { readPlan, readSweepPlan } from '../core/sweep/plans.js';
import type { SweepSpec } from '../core/sweep/spec.js';

export type StorageSpec = SweepSpec['storage'];
export type ModelSpec = SweepSpec['model'];

/** Models by sweep spec; an s3:// model is read with the sweep's storage options (endpoint, path style). */
export interface ModelProvider {
  /** A local directory holding the model (downloaded once from S3 when the spec names an s3:// prefix). */
  dir(model: ModelSpec, storage: StorageSpec): Promise<string>;
  /** The loaded engine, once per process per model and backend. */
  engine(model: ModelSpec, storage: StorageSpec): Promise<Engine>;
  /** Shape and identity without loading weights onto a backend. */
  describe(model: ModelSpec, storage: StorageSpec): Promise<{ shape: ModelShape; modelId: string }>;
}

/** Hooks a worker's metrics implement (no-ops in tests). */
export interface UnitMetrics {
  unitStarted(id: string, kind: string): void;
  unitEnded(id: string, kind: string, outcome: 'done' | 'cached' | 'failed'): void;
  iteration(): void;
  checkpointed(id: string): void;
}

export const noMetrics: UnitMetrics = { unitStarted() {}, unitEnded() {}, iteration() {}, checkpointed() {} };

export interface ActivityDeps {
  store(storage: StorageSpec): ArtifactStore;
  models: ModelProvider;
  metrics?: UnitMetrics;
  /** Name that provenance records carry (host:pid by default). */
  workerName: string;
}

// Content-addressed, so never stale; bounded, so a worker serving many sweeps does not grow without end
// (a million-unit plan takes some hundreds of MB in memory).
const MEMO_ENTRIES = 4;
const plans = new Map<string, Promise<SweepPlan>>();
const vectorSets = new Map<string, Promise<VectorSet>>();

function memo<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (p) {
    cache.delete(key);
  } else {
    p = load();
    p.catch(() => cache.delete(key));
  }
  cache.set(key, p); // most recently used last
  while (cache.size > MEMO_ENTRIES) cache.delete(cache.keys().next().value!);
  return p;
}

/**
 * The plan a unit belongs to, by the key the workflow carries (read from the store once per process).
 * A workflow started before plans were content-addressed carries none: then the sweep's latest plan,
 * read afresh each time (it may change under the same sweep ID).
 */
export function loadPlan(store: ArtifactStore, input: { sweepId: string; planKey?: string }): Promise<SweepPlan> {
  if (!input.planKey) return readSweepPlan(store, input.sweepId);
  const key = input.planKey;
  return memo(plans, `${store.uri}|${key}`, () => readPlan(store, key));
}

/**
 * The sweep's vector set (layer -> vectors), read once per process: for a full study it is tens of MB of
 * JSON, and every EPO, random and scan unit of the sweep needs it.
 */
export function loadVectors(store: ArtifactStore, plan: SweepPlan): Promise<VectorSet> {
  return memo(vectorSets, `${store.uri}|${plan.vectorsKey}`, () => loadVectorSet(store, plan.vectorsKey));
}

export function jsonBytes(value: unknown): string {
  return `${JSON.stringify(value, null, 1)}\n`;
}

/** Heartbeats every few seconds while `work` runs (a model download or load), so Temporal keeps the unit alive. */
export async function heartbeatWhile<T>(work: Promise<T>, details: unknown): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details);
  // Three beats per heartbeat timeout (at most every 5 s): a short timeout must not expire during a long wait.
  const timeout = ctx.info.heartbeatTimeoutMs;
  const every = timeout ? Math.min(5_000, Math.max(200, Math.floor(timeout / 3))) : 5_000;
  const timer = setInterval(() => ctx.heartbeat(details), every);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
