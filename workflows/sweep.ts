// The sweep workflow: plan (the plan stays in the store), then run every unfinished unit through a bounded
// sliding window (model units on the model queue, the scan merge on the aux queue), dependencies by rule
// (the merge after the shards, the report after everything); answer a small progress query; on cancel, let
// running units checkpoint, then stop. What crosses Temporal stays small at any sweep size: the plan's key,
// pages of a few hundred group numbers, bitsets of done and failed units, failures summarised by kind.
// Deterministic code only: no I/O, no clocks, no Node built-ins.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { Bitset } from './bitset.js';
import { MAX_MOVES, recordFailure, SKIPPED_FAILED_DEPENDENCY, unitList, WORKER_SHUTDOWN, type Failure } from './failures.js';
import { legacySweep, type LegacyPlanSummary } from './legacy.js';
import type { GroupProgress, SweepOutcome, SweepProgress } from './progress.js';
import type { Activities, PlanSummary, UnitPage, UnitResult } from '../activities/index.js';
import type { SweepSpec } from '../core/sweep/spec.js';

export type { GroupProgress, SweepOutcome, SweepProgress } from './progress.js';
export { unitList } from './failures.js';

/** State carried across continue-as-new: bounded (two bitsets, counts, at most MAX_FAILURE_KINDS failure kinds). */
export interface Carried {
  plan: PlanSummary;
  /** Bitsets (base64) of finished and of failed units. */
  done: string;
  failed: string;
  failures: Failure[];
  /** Per progress group (as plan.groups): units finished, units failed. */
  groupDone: number[];
  groupFailed: number[];
  ran: number;
  cached: number;
}

export interface SweepInput {
  spec: SweepSpec;
  /** Hand over to a fresh run (continue-as-new) past this many history events; tests set it low. */
  handoverEvents?: number;
  /** State carried across continue-as-new (older runs carried a LegacyPlanSummary: re-planned). */
  carried?: Carried | { plan: LegacyPlanSummary };
}

export const progressQuery = defineQuery<SweepProgress>('progress');

/** A unit the workflow scheduled: its progress group, and its id (for failures). */
interface Scheduled {
  group: number;
  id: string;
}

// Past this many history events, hand over to a fresh run (Temporal's hard limit is 51,200).
const HISTORY_HANDOVER = 20_000;

const isWorkerShutdown = (e: unknown) => e instanceof ActivityFailure && e.cause instanceof ApplicationFailure && e.cause.type === WORKER_SHUTDOWN;

/** Sweeps started before the marker replay the old workflow unchanged. */
const PLAN_IN_STORE = 'plan-in-store';

export async function sweepWorkflow(input: SweepInput): Promise<SweepOutcome> {
  if (!patched(PLAN_IN_STORE)) return legacySweep(input as Parameters<typeof legacySweep>[0], progressQuery);
  const { spec } = input;
  const retry = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: ['UserError'] };
  // Aux work (plans, pages, merges) is short, but a plan may first download and hash a large model: it heartbeats.
  const aux = proxyActivities<Activities>({
    taskQueue: spec.temporal.taskQueues.aux,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: spec.temporal.heartbeatTimeout * 1000,
    retry,
  });
  const model = proxyActivities<Activities>({
    taskQueue: spec.temporal.taskQueues.model,
    // Long: a full-size EPO run or scan shard; heartbeats catch a dead worker within the heartbeat timeout.
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: spec.temporal.heartbeatTimeout * 1000,
    retry,
    // On cancel, wait for the activity to checkpoint and acknowledge before the sweep ends.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

  // A run handed over by an older version carries every unit: plan again (finished units are found in the store).
  const carried = input.carried && 'done' in input.carried && typeof input.carried.done === 'string' ? (input.carried as Carried) : undefined;
  const state = {
    status: 'planning' as SweepProgress['status'],
    plan: carried?.plan,
    done: undefined as Bitset | undefined,
    failed: undefined as Bitset | undefined,
    failures: carried?.failures ?? [],
    running: new Map<number, number>(), // unit index -> group
    groupDone: [] as number[],
    groupFailed: [] as number[],
    groupRunning: [] as number[],
    ran: carried?.ran ?? 0,
    cached: carried?.cached ?? 0,
  };
  setHandler(progressQuery, () => progress(state));

  if (!state.plan) {
    state.plan = await aux.planSweep(spec);
    state.cached += state.plan.groups.reduce((a, g) => a + g.done, 0);
  }
  const plan = state.plan;
  const done = (state.done = carried ? Bitset.fromBase64(plan.total, carried.done) : Bitset.fromBase64(plan.total, plan.done));
  const failed = (state.failed = carried ? Bitset.fromBase64(plan.total, carried.failed) : new Bitset(plan.total));
  state.groupDone = carried ? [...carried.groupDone] : plan.groups.map((g) => g.done);
  state.groupFailed = carried ? [...carried.groupFailed] : plan.groups.map(() => 0);
  state.groupRunning = plan.groups.map(() => 0);
  state.status = 'running';

  // Group numbers and ids of the units, a page at a time from the plan in the store.
  let page: UnitPage = { from: 0, groups: [] };
  const unitOf = async (i: number): Promise<Scheduled> => {
    if (i < page.from || i >= page.from + page.groups.length) page = await aux.unitPage({ storage: spec.storage, planKey: plan.planKey, from: i });
    // A page an older worker answered has no ids: the unit is named by its index.
    return { group: page.groups[i - page.from]!, id: page.ids?.[i - page.from] ?? `#${i}` };
  };

  let settledCount = 0;
  const fail = (i: number, { group, id }: Scheduled, message: string) => {
    failed.add(i);
    state.groupFailed[group]!++;
    recordFailure(state.failures, message, id);
  };

  const run = async (i: number, unit: Scheduled) => {
    const { group } = unit;
    const acts = i === plan.merge ? aux : model;
    state.running.set(i, group);
    state.groupRunning[group]!++;
    try {
      let r: UnitResult;
      for (let moved = 0; ; moved++) {
        try {
          r = await acts.runUnit({ sweepId: plan.sweepId, storage: spec.storage, planKey: plan.planKey, unitIndex: i, moved });
          break;
        } catch (e) {
          // Its worker shut down: a fresh activity, with its retry attempts untouched, resumes the unit.
          if (!isWorkerShutdown(e) || moved >= MAX_MOVES) throw e;
        }
      }
      done.add(i);
      state.groupDone[group]!++;
      if (r.cached) state.cached++;
      else state.ran++;
    } catch (e) {
      // Cancelled: the main loop sees the cancellation itself; this unit simply stays unfinished.
      if (isCancellation(e)) return;
      fail(i, unit, e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e));
    } finally {
      state.running.delete(i);
      state.groupRunning[group]!--;
      settledCount++;
    }
  };

  // Dependencies by rule (core/sweep/plan.ts dependsOn): the merge after every shard, the report after every other unit.
  const [s0, s1] = plan.shards;
  const depsOf = (i: number): { ready: boolean; blocked: boolean } => {
    if (i === plan.report) {
      const others = plan.total - 1;
      return { ready: done.cardinality - (done.has(i) ? 1 : 0) === others, blocked: failed.cardinality - (failed.has(i) ? 1 : 0) > 0 };
    }
    if (i === plan.merge) return { ready: done.countIn(s0, s1) === s1 - s0, blocked: failed.countIn(s0, s1) > 0 };
    return { ready: true, blocked: false };
  };

  const inFlight: Promise<void>[] = [];
  let cursor = 0;
  const waiting: number[] = []; // units with dependencies, passed by the cursor before they were ready
  let handingOver = false;
  try {
    for (;;) {
      const info = workflowInfo();
      handingOver ||= info.continueAsNewSuggested || info.historyLength > (input.handoverEvents ?? HISTORY_HANDOVER);
      if (!handingOver) {
        for (let w = 0; w < waiting.length; w++) {
          const i = waiting[w]!;
          const d = depsOf(i);
          if (d.blocked) fail(i, await unitOf(i), SKIPPED_FAILED_DEPENDENCY);
          else if (d.ready && state.running.size < spec.concurrency.units) inFlight.push(run(i, await unitOf(i)));
          else continue;
          waiting.splice(w--, 1);
        }
        while (cursor < plan.total && state.running.size < spec.concurrency.units) {
          const i = cursor++;
          if (done.has(i) || failed.has(i)) continue;
          if (i === plan.merge || i === plan.report) {
            waiting.push(i);
            continue;
          }
          inFlight.push(run(i, await unitOf(i)));
        }
        // A waiting unit whose dependencies settled while nothing runs: go round once more.
        if (state.running.size === 0 && waiting.some((i) => depsOf(i).ready || depsOf(i).blocked)) continue;
      }
      if (state.running.size === 0) break;
      const before = settledCount;
      await condition(() => settledCount > before);
    }
    await Promise.all(inFlight);
  } catch (e) {
    if (isCancellation(e)) {
      state.status = 'cancelling';
      // Let cancelled units acknowledge (they checkpoint) before the sweep reports itself cancelled.
      await CancellationScope.nonCancellable(() => Promise.allSettled(inFlight));
    }
    throw e;
  }

  const settled = done.cardinality + failed.cardinality;
  if (handingOver && settled < plan.total) {
    await continueAsNew<typeof sweepWorkflow>({
      spec,
      handoverEvents: input.handoverEvents,
      carried: {
        plan,
        done: done.toBase64(),
        failed: failed.toBase64(),
        failures: state.failures,
        groupDone: state.groupDone,
        groupFailed: state.groupFailed,
        ran: state.ran,
        cached: state.cached,
      },
    });
  }
  if (failed.cardinality > 0) {
    state.status = 'failed';
    const lines = state.failures.slice(0, 20).map((f) => `${f.count} x ${f.example}${f.units?.length ? ` (${unitList(f)})` : ''}`);
    throw ApplicationFailure.nonRetryable(
      `${failed.cardinality} of ${plan.total} units failed; finished units are kept, 'dreamsweep sweep resume' redoes the rest:\n${lines.join('\n')}`,
      'SweepFailed',
    );
  }
  state.status = 'done';
  return { sweepId: plan.sweepId, total: plan.total, ran: state.ran, cached: state.cached };
}

function progress(state: {
  status: SweepProgress['status'];
  plan?: PlanSummary;
  failures: Failure[];
  running: Map<number, number>;
  groupDone: number[];
  groupFailed: number[];
  groupRunning: number[];
  ran: number;
  cached: number;
}): SweepProgress {
  const groups: GroupProgress[] = (state.plan?.groups ?? []).map((g, i) => ({
    method: g.method,
    layer: g.layer,
    total: g.total,
    done: state.groupDone[i] ?? g.done,
    running: state.groupRunning[i] ?? 0,
    failed: state.groupFailed[i] ?? 0,
  }));
  const sum = (k: 'total' | 'done' | 'running' | 'failed') => groups.reduce((a, g) => a + g[k], 0);
  return {
    sweepId: state.plan?.sweepId,
    status: state.status,
    total: sum('total'),
    done: sum('done'),
    running: sum('running'),
    failed: sum('failed'),
    ran: state.ran,
    cached: state.cached,
    groups,
    failures: state.failures.map((f) => ({ ...f, units: [...(f.units ?? [])] })),
  };
}
