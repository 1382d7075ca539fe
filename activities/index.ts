// The activities a dreamsweep worker registers, built by a factory from the worker's dependencies. They are
// thin: read the plan and inputs from the store, call the core library, write artifacts, return summaries.
import { Context } from '@temporalio/activity';
import { resultKey, type SweepPlan } from '../core/sweep/plan.js';
import type { SweepSpec } from '../core/sweep/spec.js';
import { loadPlan, type ActivityDeps, type StorageSpec } from './context.js';
import { runEpoUnit, type EpoUnitResult } from './epo.js';
import { planSweep, type PlanSummary } from './plan.js';

export interface UnitInput {
  sweepId: string;
  storage: StorageSpec;
  unitId: string;
}

export type UnitResult = { cached: true } | ({ cached: false } & EpoUnitResult);

export function createActivities(deps: ActivityDeps) {
  return {
    async planSweep(spec: SweepSpec): Promise<PlanSummary> {
      return planSweep(deps, spec);
    },

    async runUnit(input: UnitInput): Promise<UnitResult> {
      const store = deps.store(input.storage);
      const plan = await loadPlan(store, input.sweepId);
      const unit = plan.units.find((u) => u.id === input.unitId);
      if (!unit) throw new Error(`sweep ${input.sweepId} has no unit ${input.unitId}`);
      // A finished unit is never recomputed: another sweep, or an earlier attempt, may have done it.
      if (await store.exists(resultKey(unit))) return { cached: true };
      Context.current().heartbeat({ started: unit.id });
      switch (unit.spec.kind) {
        case 'epo':
          return { cached: false, ...(await runEpoUnit(deps, store, plan, unit as Parameters<typeof runEpoUnit>[3])) };
        default:
          throw new Error(`unit kind ${unit.spec.kind} is not implemented yet (${unit.id})`);
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { PlanSummary, SweepPlan };
