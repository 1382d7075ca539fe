// The activities a dreamsweep worker registers, built by a factory from the worker's dependencies. They are
// thin: read the plan and inputs from the store, call the core library, write artifacts, return summaries.
import { Context } from '@temporalio/activity';
import { resultKey, type SweepPlan } from '../core/sweep/plan.js';
import type { SweepSpec } from '../core/sweep/spec.js';
import type { ArtifactStore } from '../core/store/index.js';
import { loadPlan, noMetrics, type ActivityDeps, type StorageSpec } from './context.js';
import { runRandomUnit, runScanMerge, runScanShard, type BaselineUnitResult } from './baselines.js';
import { runEpoUnit, type EpoUnitResult } from './epo.js';
import { planSweep, type PlanSummary } from './plan.js';
import { runReportUnit, type ReportUnitResult } from './report.js';

export interface UnitInput {
  sweepId: string;
  storage: StorageSpec;
  unitId: string;
}

export type UnitResult = { cached: true } | ({ cached: false } & (EpoUnitResult | BaselineUnitResult | ReportUnitResult));

type PlannedUnit = SweepPlan['units'][number];

export function createActivities(deps: ActivityDeps) {
  const metrics = deps.metrics ?? noMetrics;

  const run = async (store: ArtifactStore, plan: SweepPlan, unit: PlannedUnit): Promise<EpoUnitResult | BaselineUnitResult | ReportUnitResult> => {
    switch (unit.spec.kind) {
      case 'epo':
        return runEpoUnit(deps, store, plan, unit as Parameters<typeof runEpoUnit>[3]);
      case 'random':
        return runRandomUnit(deps, store, plan, unit as Parameters<typeof runRandomUnit>[3]);
      case 'scan-shard':
        return runScanShard(deps, store, plan, unit as Parameters<typeof runScanShard>[3]);
      case 'scan-merge':
        return runScanMerge(store, plan, unit as Parameters<typeof runScanMerge>[2]);
      case 'report':
        return runReportUnit(deps, store, plan, unit);
    }
  };

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
      metrics.unitStarted(unit.id, unit.kind);
      let outcome: 'done' | 'failed' = 'failed';
      try {
        const result = await run(store, plan, unit);
        outcome = 'done';
        return { cached: false, ...result };
      } finally {
        metrics.unitEnded(unit.id, unit.kind, outcome);
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { PlanSummary };
