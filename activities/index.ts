// The activities a dreamsweep worker registers, built by a factory from the worker's dependencies. They are
// thin: read the plan and inputs from the store, call the core library, write artifacts, return summaries.
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { resultKey, writerKey, type SweepPlan } from '../core/sweep/plan.js';
import type { SweepSpec } from '../core/sweep/spec.js';
import type { ArtifactStore } from '../core/store/index.js';
import { jsonBytes, loadPlan, noMetrics, type ActivityDeps, type StorageSpec } from './context.js';
import { WORKER_SHUTDOWN } from '../workflows/failures.js';
import { runRandomUnit, runScanMerge, runScanShard, type BaselineUnitResult } from './baselines.js';
import { runEpoUnit, type EpoUnitResult } from './epo.js';
import { planSweep, type PlanSummary } from './plan.js';
import { runReportUnit, type ReportUnitResult } from './report.js';

export interface UnitInput {
  sweepId: string;
  storage: StorageSpec;
  unitId: string;
  /** How many times the unit has moved off a worker that shut down (provenance only). */
  moved?: number;
}

export type UnitResult =
  | { cached: true }
  // Finished by an earlier attempt of this sweep whose completion never reached Temporal: run here, result found.
  | { cached: false; recovered: true }
  | ({ cached: false } & (EpoUnitResult | BaselineUnitResult | ReportUnitResult));

type PlannedUnit = SweepPlan['units'][number];

export function createActivities(deps: ActivityDeps) {
  const metrics = deps.metrics ?? noMetrics;

  const run = async (store: ArtifactStore, plan: SweepPlan, unit: PlannedUnit, moved: number): Promise<EpoUnitResult | BaselineUnitResult | ReportUnitResult> => {
    switch (unit.spec.kind) {
      case 'epo':
        return runEpoUnit(deps, store, plan, unit as Parameters<typeof runEpoUnit>[3], moved);
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
      if (await store.exists(resultKey(unit))) {
        // An earlier attempt of this sweep may have finished it without Temporal hearing (a server outage):
        // then this sweep ran it. Another sweep's result is "already done".
        const writer = await store.get(writerKey(unit));
        const by = writer ? (JSON.parse(Buffer.from(writer).toString('utf8')) as { sweepId?: string }).sweepId : undefined;
        return by === input.sweepId ? { cached: false, recovered: true } : { cached: true };
      }
      await store.put(writerKey(unit), jsonBytes({ sweepId: input.sweepId }), { contentType: 'application/json' });
      Context.current().heartbeat({ started: unit.id });
      metrics.unitStarted(unit.id, unit.kind);
      let outcome: 'done' | 'failed' = 'failed';
      try {
        const result = await run(store, plan, unit, input.moved ?? 0);
        outcome = 'done';
        return { cached: false, ...result };
      } catch (e) {
        const reason: unknown = Context.current().cancellationSignal.reason;
        if (reason instanceof CancelledFailure && reason.message === 'WORKER_SHUTDOWN') {
          throw ApplicationFailure.create({
            type: WORKER_SHUTDOWN,
            message: `unit ${unit.id}: worker ${deps.workerName} shut down; the sweep runs the unit again on another worker`,
            nonRetryable: true,
            cause: e instanceof Error ? e : undefined,
          });
        }
        throw e;
      } finally {
        metrics.unitEnded(unit.id, unit.kind, outcome);
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { PlanSummary };
