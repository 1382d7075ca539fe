// The sweep workflow as it was before plans stayed in the store (plan summary with every unit, done ids as
// lists). Kept only so that sweeps started by older workers replay and finish unchanged: sweep.ts runs it
// for a history without the 'plan-in-store' marker. New sweeps never get here.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  type QueryDefinition,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { WORKER_SHUTDOWN } from './failures.js';
import type { Activities, UnitResult } from '../activities/index.js';
import type { GroupProgress, SweepOutcome, SweepProgress } from './progress.js';
import type { SweepSpec } from '../core/sweep/spec.js';

/** The plan summary older workers' planSweep returned: every unit, and the ids already done. */
export interface LegacyPlanSummary {
  sweepId: string;
  planKey?: string;
  units: Array<{ id: string; key: string; kind: string; method: string; layer?: number; after: string[]; queue: 'model' | 'aux' }>;
  done: string[];
}

export interface LegacyInput {
  spec: SweepSpec;
  handoverEvents?: number;
  carried?: { plan: LegacyPlanSummary; done: string[]; failed: Record<string, string>; ran: number; cached: number };
}

// Past this many history events, hand over to a fresh run (Temporal's hard limit is 51,200).
const HISTORY_HANDOVER = 20_000;
// A unit moves off a shutting-down worker at most this often; past that, something else is wrong.
const MAX_MOVES = 100;

const isWorkerShutdown = (e: unknown) => e instanceof ActivityFailure && e.cause instanceof ApplicationFailure && e.cause.type === WORKER_SHUTDOWN;

export async function legacySweep(input: LegacyInput, progressQuery: QueryDefinition<SweepProgress>): Promise<SweepOutcome> {
  const { spec } = input;
  const retry = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: ['UserError'] };
  // Aux work (plans, merges) is short, but a plan may first download and hash a large model: it heartbeats.
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

  const state = {
    status: 'planning' as SweepProgress['status'],
    plan: input.carried?.plan,
    done: new Set(input.carried?.done ?? []),
    failed: new Map(Object.entries(input.carried?.failed ?? {})),
    running: new Set<string>(),
    ran: input.carried?.ran ?? 0,
    cached: input.carried?.cached ?? 0,
  };
  setHandler(progressQuery, () => progress(state));

  if (!state.plan) {
    const planned = (await aux.planSweep(spec)) as unknown as LegacyPlanSummary;
    if (!Array.isArray(planned.units)) {
      // Started by an older worker, planned by a newer one: its summary has no unit list to run from.
      throw ApplicationFailure.nonRetryable(`sweep ${planned.sweepId} was started by an older dreamsweep; launch it again (finished units are kept)`, 'SweepReplanned');
    }
    state.plan = planned;
    for (const id of state.plan.done) state.done.add(id);
    state.cached += state.plan.done.length;
  }
  const plan = state.plan;
  state.status = 'running';

  const settled = new Set<string>(); // finished, failed or skipped
  for (const id of state.done) settled.add(id);
  for (const id of state.failed.keys()) settled.add(id);
  const byId = new Map(plan.units.map((u) => [u.id, u]));
  const ready = () => plan.units.filter((u) => !settled.has(u.id) && !state.running.has(u.id) && u.after.every((d) => state.done.has(d)));
  const blocked = () => plan.units.filter((u) => !settled.has(u.id) && !state.running.has(u.id) && u.after.some((d) => state.failed.has(d)));

  const run = async (id: string) => {
    const unit = byId.get(id)!;
    const acts = unit.queue === 'aux' ? aux : model;
    state.running.add(id);
    try {
      let r: UnitResult;
      for (let moved = 0; ; moved++) {
        try {
          r = await acts.runUnit({ sweepId: plan.sweepId, storage: spec.storage, planKey: plan.planKey, unitId: id, unitKey: unit.key, moved });
          break;
        } catch (e) {
          // Its worker shut down: a fresh activity, with its retry attempts untouched, resumes the unit.
          if (!isWorkerShutdown(e) || moved >= MAX_MOVES) throw e;
        }
      }
      state.done.add(id);
      if (r.cached) state.cached++;
      else state.ran++;
    } catch (e) {
      // Cancelled: the main loop sees the cancellation itself; this unit simply stays unfinished.
      if (isCancellation(e)) return;
      state.failed.set(id, e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e));
    } finally {
      state.running.delete(id);
      settled.add(id);
    }
  };

  const inFlight: Promise<void>[] = [];
  let handingOver = false;
  try {
    for (;;) {
      for (const u of blocked()) {
        state.failed.set(u.id, `skipped: depends on a failed unit (${u.after.filter((d) => state.failed.has(d)).join(', ')})`);
        settled.add(u.id);
      }
      const info = workflowInfo();
      handingOver ||= info.continueAsNewSuggested || info.historyLength > (input.handoverEvents ?? HISTORY_HANDOVER);
      if (!handingOver) {
        for (const u of ready()) {
          if (state.running.size >= spec.concurrency.units) break;
          inFlight.push(run(u.id));
        }
      }
      if (state.running.size === 0) break;
      const before = settled.size;
      await condition(() => settled.size > before);
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

  if (handingOver && settled.size < plan.units.length) {
    await continueAsNew<(input: LegacyInput) => Promise<SweepOutcome>>({
      spec,
      handoverEvents: input.handoverEvents,
      carried: { plan, done: [...state.done], failed: Object.fromEntries(state.failed), ran: state.ran, cached: state.cached },
    });
  }
  if (state.failed.size > 0) {
    state.status = 'failed';
    const lines = [...state.failed].slice(0, 20).map(([id, why]) => `${id}: ${why}`);
    throw ApplicationFailure.nonRetryable(
      `${state.failed.size} of ${plan.units.length} units failed; finished units are kept, 'dreamsweep sweep resume' redoes the rest:\n${lines.join('\n')}`,
      'SweepFailed',
    );
  }
  state.status = 'done';
  return { sweepId: plan.sweepId, total: plan.units.length, ran: state.ran, cached: state.cached };
}

function progress(state: {
  status: SweepProgress['status'];
  plan?: LegacyPlanSummary;
  done: Set<string>;
  failed: Map<string, string>;
  running: Set<string>;
  ran: number;
  cached: number;
}): SweepProgress {
  const groups = new Map<string, GroupProgress>();
  for (const u of state.plan?.units ?? []) {
    const name = `${u.method}/${u.layer ?? ''}`;
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { method: u.method, layer: u.layer, total: 0, done: 0, running: 0, failed: 0 }));
    g.total++;
    if (state.done.has(u.id)) g.done++;
    else if (state.failed.has(u.id)) g.failed++;
    else if (state.running.has(u.id)) g.running++;
  }
  const list = [...groups.values()];
  const sum = (k: 'total' | 'done' | 'running' | 'failed') => list.reduce((a, g) => a + g[k], 0);
  return {
    sweepId: state.plan?.sweepId,
    status: state.status,
    total: sum('total'),
    done: sum('done'),
    running: sum('running'),
    failed: sum('failed'),
    ran: state.ran,
    cached: state.cached,
    groups: list,
  };
}
