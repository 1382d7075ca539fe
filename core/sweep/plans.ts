// Plans in the store. A plan is immutable and named by the hash of its bytes (plans/<hash>.json), so a
// worker may keep one in memory forever: a relaunch after any change of inputs (vectors, model, settings)
// gets a new plan under a new key, which no worker can confuse with the old one. The sweep's folder keeps a
// pointer to its latest plan for tools that know only the sweep ID (the report CLI); older versions kept a
// full copy there, which is read as it is.
import { UserError } from '../errors.js';
import type { ArtifactStore } from '../store/index.js';
import { planKey, sweepPlanKey } from './layout.js';
import { sha256, type SweepPlan } from './plan.js';

export function encodePlan(plan: SweepPlan): { key: string; bytes: string } {
  // Unindented: a million-unit plan is some 300 MB of JSON as it is.
  const bytes = `${JSON.stringify(plan)}\n`;
  return { key: planKey(sha256(bytes).slice(0, 32)), bytes };
}

/** What sweeps/<id>/plan.json holds: the key of the sweep's latest plan. */
interface PlanPointer {
  plan: string;
}

/** Stores the plan under its hash (once) and points the sweep's folder at it; returns its key. */
export async function writePlan(store: ArtifactStore, plan: SweepPlan): Promise<string> {
  const { key, bytes } = encodePlan(plan);
  // Named by its hash, so the stored bytes must hash to the key: a damaged (truncated) copy is written again.
  await putUnlessIntact(store, key, bytes);
  await store.put(sweepPlanKey(plan.sweepId), `${JSON.stringify({ plan: key } satisfies PlanPointer)}\n`, { contentType: 'application/json' });
  return key;
}

/**
 * Puts content-addressed `bytes` at `key` unless the store already holds exactly them: an object left
 * truncated or damaged (a full disk, a hand edit) is replaced instead of trusted because its key exists.
 */
export async function putUnlessIntact(store: ArtifactStore, key: string, bytes: string): Promise<void> {
  const held = await store.get(key);
  if (held && held.byteLength === Buffer.byteLength(bytes) && Buffer.from(held).equals(Buffer.from(bytes))) return;
  await store.put(key, bytes, { contentType: 'application/json' });
}

/** The plan stored at `key` (from planSweep's summary). */
export async function readPlan(store: ArtifactStore, key: string): Promise<SweepPlan> {
  const plan = await readPlanAt(store, key);
  if (!plan) throw new UserError('E_SWEEP_UNKNOWN', `${store.uri}: no plan at ${key}; the store lost it, or the sweep ran against another store. Launch the sweep again`);
  return plan;
}

/** Why: the report CLI knows only the sweep ID; a missing plan is a user's mistake (wrong ID or store). */
export async function readSweepPlan(store: ArtifactStore, sweepId: string): Promise<SweepPlan> {
  const at = await readJsonAt(store, sweepPlanKey(sweepId));
  const pointer = at !== undefined && at !== null && typeof (at as PlanPointer).plan === 'string' ? (at as PlanPointer).plan : undefined;
  const plan = pointer ? await readPlanAt(store, pointer) : at === undefined ? undefined : checkedPlan(store, sweepPlanKey(sweepId), at);
  if (!plan) {
    throw new UserError('E_REPORT_NO_PLAN', `${store.uri}: no plan for sweep ${sweepId} at ${sweepPlanKey(sweepId)}; check the ID (dreamsweep sweep list) and the store URI`);
  }
  return plan;
}

async function readPlanAt(store: ArtifactStore, key: string): Promise<SweepPlan | undefined> {
  const value = await readJsonAt(store, key);
  return value === undefined ? undefined : checkedPlan(store, key, value);
}

async function readJsonAt(store: ArtifactStore, key: string): Promise<unknown> {
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (e) {
    throw new UserError('E_SWEEP_PLAN', `${store.uri}/${key}: not valid JSON (${(e as Error).message}); the plan is damaged: launch the sweep again to re-plan`, { cause: e });
  }
}

/** Valid JSON of the wrong shape is a damaged plan, said as such rather than failing later on a missing field. */
function checkedPlan(store: ArtifactStore, key: string, value: unknown): SweepPlan {
  const plan = value as Partial<SweepPlan> | null;
  if (typeof plan !== 'object' || plan === null || typeof plan.spec !== 'object' || plan.spec === null || typeof plan.shape !== 'object') {
    throw new UserError('E_SWEEP_PLAN', `${store.uri}/${key}: valid JSON but not a sweep plan (no spec or shape); the plan is damaged: launch the sweep again to re-plan`);
  }
  return plan as SweepPlan;
}
