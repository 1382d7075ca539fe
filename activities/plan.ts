// planSweep: the sweep's first activity. Identifies the model, materialises the vector set, checks the study
// against the model's shape, stores the plan, and tells the workflow which units are already finished.
import pLimit from 'p-limit';
import { UserError } from '../core/errors.js';
import { randomVectorSet, readVectorFile, type VectorSet } from '../core/objectives/vectors.js';
import { canonicalJson, planUnits, resultKey, sha256, sweepIdOf, type SweepPlan, type Unit } from '../core/sweep/plan.js';
import { checkSeqLen } from '../core/model/config.js';
import { readConfig } from '../core/model/load.js';
import { checkPlanSize } from '../core/sweep/limits.js';
import { checkStudyFitsModel } from '../core/sweep/preflight.js';
import type { SweepSpec } from '../core/sweep/spec.js';
import { heartbeatWhile, jsonBytes, planKey, type ActivityDeps } from './context.js';

export interface PlanSummary {
  sweepId: string;
  units: Unit[];
  /** Ids of units whose result is already in the store. */
  done: string[];
}

export async function planSweep(deps: ActivityDeps, spec: SweepSpec): Promise<PlanSummary> {
  const store = deps.store(spec.storage);
  const { shape, modelId } = await heartbeatWhile(deps.models.describe(spec.model, spec.storage), { identifying: spec.model.path });
  const sweepId = sweepIdOf(spec);

  checkStudyFitsModel(spec, shape);
  checkSeqLen(readConfig(await deps.models.dir(spec.model, spec.storage)), spec.study.seqLen, `${spec.source}: study.seqLen`);

  if ('count' in spec.study.vectors) checkPlanSize(spec, shape.dModel, spec.study.vectors.count);
  const vectors: VectorSet =
    'file' in spec.study.vectors
      ? readVectorFile(spec.study.vectors.file, shape.dModel)
      : randomVectorSet(spec.study.layers, spec.study.vectors.count, spec.study.vectors.seed, shape.dModel);
  const missing = spec.study.layers.filter((L) => !vectors.has(L));
  if (missing.length) throw new UserError('E_SWEEP_VECTORS', `${spec.source}: study.vectors has no vectors for layers ${missing.join(', ')}`);
  if ('file' in spec.study.vectors) checkPlanSize(spec, shape.dModel, Math.max(...spec.study.layers.map((L) => vectors.get(L)!.length)));
  const vectorsJson = canonicalJson(Object.fromEntries(spec.study.layers.map((L) => [L, vectors.get(L)!.map((v) => Array.from(v))])));
  const vectorsKey = `vectors/${sha256(vectorsJson).slice(0, 32)}.json`;
  if (!(await store.exists(vectorsKey))) await store.put(vectorsKey, vectorsJson, { contentType: 'application/json' });

  const counts = new Map(spec.study.layers.map((L) => [L, vectors.get(L)!.length]));
  const units = planUnits(spec, modelId, vectorsKey, counts);
  const plan: SweepPlan = { sweepId, spec, modelId, shape, vectorsKey, units };
  await store.put(planKey(sweepId), jsonBytes(plan), { contentType: 'application/json' });

  const limit = pLimit(16);
  const finished = await Promise.all(units.map((u) => limit(() => store.exists(resultKey(u)))));
  return {
    sweepId,
    units: units.map(({ spec: _s, ...u }) => u),
    done: units.filter((_, i) => finished[i]).map((u) => u.id),
  };
}
