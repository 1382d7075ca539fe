// planSweep: the sweep's first activity. Identifies the model, materialises the vector set, checks the study
// against the model's shape, stores the plan, and tells the workflow which units are already finished.
import pLimit from 'p-limit';
import { UserError } from '../core/errors.js';
import { encodeVectorSet, randomVectorSet, readVectorSource, type VectorSet } from '../core/objectives/vectors.js';
import type { ArtifactStore } from '../core/store/index.js';
import { resultKey, UNIT_FILES, UNITS_PREFIX, vectorSetKey } from '../core/sweep/layout.js';
import { groupName, PLAN_FORMAT, planLayout, planUnits, sha256, sweepIdOf, type PlanLayout, type SweepPlan } from '../core/sweep/plan.js';
import { Bitset } from '../workflows/bitset.js';
import { putUnlessIntact, writePlan } from '../core/sweep/plans.js';
import { checkModelSeqLen } from '../core/model/load.js';
import { checkPlanSize } from '../core/sweep/limits.js';
import { checkStudyFitsModel } from '../core/sweep/preflight.js';
import { residStudy, type ResidStudy, type SweepSpec } from '../core/sweep/spec.js';
import { heartbeatWhile, type ActivityDeps } from './context.js';

/** A progress group (method and layer) of the plan: its units, and how many were already finished. */
export interface GroupTotal {
  method: string;
  layer?: number;
  total: number;
  done: number;
}

/**
 * What the workflow learns from planning: a few numbers and a bitset, never the list of units (that
 * stays in the store, read by key), so it stays within Temporal's payload limits at any sweep size.
 */
export interface PlanSummary extends PlanLayout {
  format: typeof PLAN_FORMAT;
  sweepId: string;
  /** Store key of the immutable plan (plans/<hash>.json); every unit of this run reads it. */
  planKey: string;
  groups: GroupTotal[];
  /** Unit indices whose result is already in the store, as a base64 bitset (workflows/bitset.ts). */
  done: string;
}

/** A page of the plan for the workflow: each unit's progress group (index into PlanSummary.groups) and id. */
export interface UnitPage {
  from: number;
  groups: number[];
  /** The units' ids, for the failures `sweep status` shows (absent from pages of older workers). */
  ids?: string[];
}

/** Units per page: a few hundred, so a page is a few KB whatever the sweep's size. */
export const PAGE_SIZE = 500;

export async function planSweep(deps: ActivityDeps, spec: SweepSpec): Promise<PlanSummary> {
  const store = deps.store(spec.storage);
  const { shape, modelId } = await heartbeatWhile(deps.models.describe(spec.model, spec.storage), { identifying: spec.model.path });
  const sweepId = sweepIdOf(spec);

  checkStudyFitsModel(spec, shape);
  checkModelSeqLen(await deps.models.dir(spec.model, spec.storage), spec.study.seqLen, `${spec.source}: study.seqLen`);

  // A sweep of targets alone stores the empty vector set: every plan names one, and its scan reads no directions.
  const study = residStudy(spec);
  const layers = study?.layers ?? [];
  const vectors: VectorSet = study ? studyVectors(spec, study, shape.dModel) : new Map();
  if (!study) checkPlanSize(spec, shape.dModel, 0);
  const vectorsJson = encodeVectorSet(vectors, layers);
  const vectorsKey = vectorSetKey(sha256(vectorsJson).slice(0, 32));
  await putUnlessIntact(store, vectorsKey, vectorsJson);

  const counts = new Map(layers.map((L) => [L, vectors.get(L)!.length]));
  const units = planUnits(spec, modelId, vectorsKey, counts);
  const plan: SweepPlan = { format: PLAN_FORMAT, sweepId, spec, modelId, shape, vectorsKey, units };
  const planKey = await writePlan(store, plan);

  // Only results that parse count as finished: a truncated result.json is redone, not trusted.
  const finished = await intactKeys(store, await finishedKeys(store, units));
  const done = new Bitset(units.length);
  const groups: GroupTotal[] = [];
  const groupIndex = groupIndexOf(units);
  for (const [i, u] of units.entries()) {
    const g = (groups[groupIndex[i]!] ??= { method: u.method, ...(u.layer !== undefined && { layer: u.layer }), total: 0, done: 0 });
    g.total++;
    if (finished.has(resultKey(u))) {
      done.add(i);
      g.done++;
    }
  }
  return { format: PLAN_FORMAT, sweepId, planKey, ...planLayout(units), groups, done: done.toBase64() };
}

/** The study's directions, checked: every layer has some, and the plan stays within its limits. */
function studyVectors(spec: SweepSpec, study: ResidStudy, dModel: number): VectorSet {
  if ('count' in study.vectors) checkPlanSize(spec, dModel, study.vectors.count);
  const vectors: VectorSet =
    'file' in study.vectors ? readVectorSource(study.vectors, dModel, study.layers) : randomVectorSet(study.layers, study.vectors.count, study.vectors.seed, dModel);
  const missing = study.layers.filter((L) => !vectors.has(L));
  if (missing.length) throw new UserError('E_SWEEP_VECTORS', `${spec.source}: study.vectors has no vectors for layers ${missing.join(', ')}`);
  if ('file' in study.vectors) checkPlanSize(spec, dModel, Math.max(...study.layers.map((L) => vectors.get(L)!.length)));
  return vectors;
}

/** The keys whose objects are intact JSON results (read with bounded concurrency). */
async function intactKeys(store: ArtifactStore, keys: Set<string>): Promise<Set<string>> {
  const limit = pLimit(16);
  const ok = await Promise.all([...keys].map((k) => limit(async () => ((await readResult(store, k)) !== undefined ? k : undefined))));
  return new Set(ok.filter((k): k is string => k !== undefined));
}

/** A unit's stored result.json, parsed; undefined when absent or damaged (not JSON, or not an object). */
export async function readResult(store: ArtifactStore, key: string): Promise<object | undefined> {
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Each unit's progress group, numbered by first appearance. */
export function groupIndexOf(units: SweepPlan['units']): number[] {
  const index = new Map<string, number>();
  return units.map((u) => {
    const name = groupName(u);
    let g = index.get(name);
    if (g === undefined) index.set(name, (g = index.size));
    return g;
  });
}

/**
 * Result keys already in the store: one listing per unit kind (a LIST call per 1,000 keys on S3) rather
 * than a HEAD per unit; a kind with few units is asked about unit by unit, with bounded concurrency.
 */
async function finishedKeys(store: ArtifactStore, units: SweepPlan['units']): Promise<Set<string>> {
  const byKind = new Map<string, SweepPlan['units']>();
  for (const u of units) {
    const list = byKind.get(u.kind);
    if (list) list.push(u);
    else byKind.set(u.kind, [u]);
  }
  const found = new Set<string>();
  const limit = pLimit(16);
  await Promise.all(
    [...byKind].map(async ([kind, list]) => {
      if (list.length <= 32) {
        await Promise.all(list.map((u) => limit(async () => void ((await store.exists(resultKey(u))) && found.add(resultKey(u))))));
        return;
      }
      const suffix = `/${UNIT_FILES.result}`;
      for (const key of await store.list(`${UNITS_PREFIX}${kind}/`)) if (key.endsWith(suffix)) found.add(key);
    }),
  );
  return found;
}
