// The activities a dreamsweep worker registers, built by a factory from the worker's dependencies. They are
// thin: read the plan and inputs from the store, call the core library, write artifacts, return summaries.
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { UserError } from '../core/errors.js';
import { resultKey, writerKey } from '../core/sweep/layout.js';
import type { PlannedUnit, SweepPlan } from '../core/sweep/plan.js';
import type { SweepSpec } from '../core/sweep/spec.js';
import type { ArtifactStore } from '../core/store/index.js';
import { jsonBytes, loadPlan, noMetrics, type ActivityDeps, type StorageSpec } from './context.js';
import { WORKER_SHUTDOWN } from '../workflows/failures.js';
import { runRandomUnit, runScanMerge, runScanShard, type BaselineUnitResult } from './baselines.js';
import { runEpoUnit, type EpoUnitResult } from './epo.js';
import { groupIndexOf, PAGE_SIZE, planSweep, readResult, type PlanSummary, type UnitPage } from './plan.js';
import { runReportUnit, type ReportUnitResult } from './report.js';

export interface UnitInput {
  sweepId: string;
  storage: StorageSpec;
  /** The plan's store key (planSweep's summary); absent only from workflows started by older versions. */
  planKey?: string;
  unitId?: string;
  /** The unit's store key as planned: a check that the plan read is the one the workflow scheduled from. */
  unitKey?: string;
  /** The unit by its index in the plan (workflows since plans stay in the store); else by unitId. */
  unitIndex?: number;
  /** How many times the unit has moved off a worker that shut down (provenance only). */
  moved?: number;
}

export type UnitResult =
  | { cached: true }
  // Finished by an earlier attempt of this sweep whose completion never reached Temporal: run here, result found.
  | { cached: false; recovered: true }
  | ({ cached: false } & (EpoUnitResult | BaselineUnitResult | ReportUnitResult));

export function createActivities(deps: ActivityDeps) {
  const metrics = deps.metrics ?? noMetrics;

  const run = async (store: ArtifactStore, plan: SweepPlan, unit: PlannedUnit, moved: number): Promise<EpoUnitResult | BaselineUnitResult | ReportUnitResult> => {
    switch (unit.kind) {
      case 'epo':
        return runEpoUnit(deps, store, plan, unit, moved);
      case 'random':
        return runRandomUnit(deps, store, plan, unit);
      case 'scan-shard':
        return runScanShard(deps, store, plan, unit);
      case 'scan-merge':
        return runScanMerge(store, plan, unit);
      case 'report':
        return runReportUnit(deps, store, plan, unit);
    }
  };

  return {
    async planSweep(spec: SweepSpec): Promise<PlanSummary> {
      return planSweep(deps, spec);
    },

    /** The progress groups and ids of up to PAGE_SIZE units from `from` on. */
    async unitPage(input: { storage: StorageSpec; planKey: string; from: number }): Promise<UnitPage> {
      const plan = await loadPlan(deps.store(input.storage), { sweepId: '', planKey: input.planKey });
      const end = input.from + PAGE_SIZE;
      return { from: input.from, groups: groupsOf(plan).slice(input.from, end), ids: plan.units.slice(input.from, end).map((u) => u.id) };
    },

    async runUnit(input: UnitInput): Promise<UnitResult> {
      const store = deps.store(input.storage);
      const plan = await loadPlan(store, input);
      const unit = input.unitIndex !== undefined ? plan.units[input.unitIndex] : plan.units.find((u) => u.id === input.unitId);
      if (!unit || (input.unitKey !== undefined && unit.key !== input.unitKey)) {
        // Only a workflow without a plan key gets here: its sweep was re-planned under it. Never run the wrong unit.
        throw new UserError(
          'E_SWEEP_REPLANNED',
          `sweep ${input.sweepId}: the stored plan no longer has unit ${input.unitId ?? `#${input.unitIndex}`}${input.unitKey ? ` at ${input.unitKey}` : ''}; it was re-planned: launch the sweep again`,
        );
      }
      // A finished unit is never recomputed: another sweep, or an earlier attempt, may have done it.
      // One that is damaged (truncated, not JSON) is no result: the unit runs again and replaces it.
      if ((await readResult(store, resultKey(unit))) !== undefined) {
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
export type { PlanSummary, UnitPage };

// Group numbers of a plan's units, computed once per plan and process (plans are immutable).
const groupMemo = new WeakMap<SweepPlan, number[]>();
function groupsOf(plan: SweepPlan): number[] {
  let g = groupMemo.get(plan);
  if (!g) groupMemo.set(plan, (g = groupIndexOf(plan.units)));
  return g;
}
