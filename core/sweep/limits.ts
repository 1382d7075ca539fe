// What a plan will hold, estimated from the sweep file and the model's width before anything is built, so
// that an absurd size (vectors.count: 1e9) is refused with its numbers instead of filling a worker's memory.
import { UserError } from '../errors.js';
import { sweepTargetCount } from '../objectives/kinds/index.js';
import { studyLayers, type SweepSpec } from './spec.js';

/** Most units one sweep may plan (its plan and progress travel through Temporal), and most vector bytes. */
export const PLAN_LIMITS = { units: 100_000, vectorBytes: 2 ** 30 } as const;

export interface PlanEstimate {
  units: number;
  vectorBytes: number;
}

/** Upper estimate for a spec; `vectorCount` is the vectors per layer (the file's largest list, or vectors.count). */
export function estimatePlan(spec: SweepSpec, dModel: number, vectorCount: number): PlanEstimate {
  const layers = studyLayers(spec).length;
  const epo = spec.methods.epo;
  const seeds = epo ? (epo.seeds?.length ?? epo.runsPerVector) : 0;
  const targetRuns = epo ? sweepTargetCount(spec) * spec.targets.seeds.length : 0;
  const units = (spec.methods.random ? layers : 0) + (spec.methods.scan ? spec.methods.scan.shards + 1 : 0) + layers * vectorCount * seeds + targetRuns + 1;
  return { units, vectorBytes: layers * vectorCount * dModel * 4 };
}

export function checkPlanSize(spec: SweepSpec, dModel: number, vectorCount: number): void {
  const e = estimatePlan(spec, dModel, vectorCount);
  const layers = studyLayers(spec).length;
  const what = layers ? `${layers} layers x ${vectorCount} vectors of d_model ${dModel}` : `${sweepTargetCount(spec)} targets`;
  if (e.vectorBytes > PLAN_LIMITS.vectorBytes) {
    throw new UserError(
      'E_SWEEP_TOO_LARGE',
      `${spec.source}: study.vectors: ${what} is ${(e.vectorBytes / 2 ** 30).toFixed(1)} GiB of float32, over the ${PLAN_LIMITS.vectorBytes / 2 ** 30} GiB a plan may hold; use fewer vectors or layers, or split the sweep`,
    );
  }
  if (e.units > PLAN_LIMITS.units) {
    throw new UserError(
      'E_SWEEP_TOO_LARGE',
      `${spec.source}: the sweep would plan about ${e.units} units (${what}, times the EPO seeds), over the ${PLAN_LIMITS.units} one sweep may hold; use fewer vectors, layers or seeds, or split the sweep`,
    );
  }
}
