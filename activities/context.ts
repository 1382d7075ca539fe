// What activities need from the worker that hosts them, passed in by the factory (no globals): where
// artifacts live, and loaded models. Also the per-process memo of sweep plans read from the store.
import { Context } from '@temporalio/activity';
import type { Engine, ModelShape } from '../core/engine.js';
import { UserError } from '../core/errors.js';
import type { ArtifactStore } from '../core/store/index.js';
import type { SweepPlan } from '../core/sweep/plan.js';
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

const plans = new Map<string, Promise<SweepPlan>>();
const vectorSets = new Map<string, Promise<Record<string, number[][]>>>();

export function planKey(sweepId: string): string {
  return `sweeps/${sweepId}/plan.json`;
}

/** The sweep's plan, read from the store once per process. */
export function loadPlan(store: ArtifactStore, sweepId: string): Promise<SweepPlan> {
  const memoKey = `${store.uri}|${sweepId}`;
  let p = plans.get(memoKey);
  if (!p) {
    p = (async () => {
      const bytes = await store.get(planKey(sweepId));
      if (!bytes) throw new UserError('E_SWEEP_UNKNOWN', `${store.uri}: no plan for sweep ${sweepId} (${planKey(sweepId)}); launch the sweep first`);
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as SweepPlan;
    })();
    plans.set(memoKey, p);
    p.catch(() => plans.delete(memoKey));
  }
  return p;
}

/**
 * The sweep's vector set (`{layer: [[d floats]...]}`), read once per process: for a full study it is
 * tens of MB of JSON, and every EPO, random and scan unit of the sweep needs it.
 */
export function loadVectors(store: ArtifactStore, plan: SweepPlan): Promise<Record<string, number[][]>> {
  const memoKey = `${store.uri}|${plan.vectorsKey}`;
  let p = vectorSets.get(memoKey);
  if (!p) {
    p = (async () => {
      const bytes = await store.get(plan.vectorsKey);
      if (!bytes) throw new Error(`${store.uri}: vector set ${plan.vectorsKey} is missing`);
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, number[][]>;
    })();
    vectorSets.set(memoKey, p);
    p.catch(() => vectorSets.delete(memoKey));
  }
  return p;
}

export function jsonBytes(value: unknown): string {
  return `${JSON.stringify(value, null, 1)}\n`;
}

/** Heartbeats every few seconds while `work` runs (a model download or load), so Temporal keeps the unit alive. */
export async function heartbeatWhile<T>(work: Promise<T>, details: unknown): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), 5_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
