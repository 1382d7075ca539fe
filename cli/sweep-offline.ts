// `sweep status` when no worker answers the sweep's progress query (every worker down, or one restarting):
// the counts from what is known without one, the store (the plan, the results, who wrote them), the
// workflow's description (its state, the units in flight) and its history (the units that failed), and since
// when no worker polls its queue.
import { defaultPayloadConverter, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import pLimit from 'p-limit';
import { openStore, type ArtifactStore } from '../core/store/index.js';
import { resultKey, UNIT_FILES, UNITS_PREFIX, writerKey } from '../core/sweep/layout.js';
import { groupName, planLayout, type SweepPlan } from '../core/sweep/plan.js';
import { readSweepPlan } from '../core/sweep/plans.js';
import type { SweepSpec } from '../core/sweep/spec.js';
import { Bitset } from '../workflows/bitset.js';
import { MAX_MOVES, recordFailure, SKIPPED_FAILED_DEPENDENCY, WORKER_SHUTDOWN, type Failure } from '../workflows/failures.js';
import type { GroupProgress, SweepProgress } from '../workflows/progress.js';
import type { Carried, SweepInput } from '../workflows/sweep.js';

/** SweepProgress as the store and the history tell it (failed null: unknown, as before a plan exists). */
export interface OfflineProgress extends Omit<SweepProgress, 'failed' | 'groups' | 'status'> {
  status: string;
  failed: number | null;
  groups: Array<Omit<GroupProgress, 'failed'> & { failed: number | null }>;
  /** Where the counts come from: the store, the workflow's description and history, not the workflow's own answer. */
  source: 'store';
  /** Why no worker answered: no worker polls the sweep's queue, and since when. */
  noWorker: string;
}

export async function progressFromStore(client: Client, namespace: string, desc: WorkflowExecutionDescription, spec: SweepSpec, status: string): Promise<OfflineProgress> {
  const store = openStore(spec.storage.uri, { endpoint: spec.storage.endpoint, region: spec.storage.region, forcePathStyle: spec.storage.forcePathStyle });
  const plan = await readSweepPlan(store, desc.workflowId).catch(() => undefined);
  const running = (desc.raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'runUnit').length;
  const noWorker = await pollerNote(client, namespace, spec.temporal.taskQueues.aux);
  const base = { sweepId: desc.workflowId, running, source: 'store' as const, noWorker };
  if (!plan) return { ...base, status: status === 'running' ? 'planning' : status, total: 0, done: 0, ran: 0, cached: 0, failed: null, groups: [] };

  const finished = await finishedKeys(store, plan.units);
  const isDone = plan.units.map((u) => finished.has(resultKey(u)));
  const { failed, failures } = await failuresFromHistory(client, desc, plan.units, isDone);
  const groups = new Map<string, OfflineProgress['groups'][number]>();
  const done: SweepPlan['units'] = [];
  plan.units.forEach((u, i) => {
    const name = groupName(u);
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { method: u.method, ...(u.layer !== undefined && { layer: u.layer }), total: 0, done: 0, running: 0, failed: 0 }));
    g.total++;
    if (isDone[i]) {
      g.done++;
      done.push(u);
    } else if (failed.has(i)) g.failed!++;
  });
  // Run by this sweep or found already finished: writer.json names the sweep that last started the unit.
  const limit = pLimit(16);
  const ranBy = await Promise.all(
    done.map((u) =>
      limit(async () => {
        const bytes = await store.get(writerKey(u)).catch(() => undefined);
        try {
          return bytes !== undefined && (JSON.parse(Buffer.from(bytes).toString('utf8')) as { sweepId?: unknown }).sweepId === desc.workflowId;
        } catch {
          return false;
        }
      }),
    ),
  );
  const ran = ranBy.filter(Boolean).length;
  return { ...base, status, total: plan.units.length, done: done.length, ran, cached: done.length - ran, failed: failed.cardinality, groups: [...groups.values()], failures };
}

/**
 * The failed units and failure kinds as the workflow counts them, from the history of its latest run: what
 * an earlier run handed over, then each runUnit activity that failed for good (a move off a shutting-down
 * worker is not a failure), then the units skipped because a dependency failed, by the workflow's own rule
 * (only once its loop passed them: every unit before them settled or scheduled). The same recordFailure the
 * workflow uses, so kinds, counts and examples match its answer.
 */
async function failuresFromHistory(
  client: Client,
  desc: WorkflowExecutionDescription,
  units: SweepPlan['units'],
  isDone: boolean[],
): Promise<{ failed: Bitset; failures: Failure[] }> {
  const history = await client.workflow.getHandle(desc.workflowId, desc.runId).fetchHistory();
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const input = started ? (defaultPayloadConverter.fromPayload(started) as SweepInput) : undefined;
  const carried = input?.carried && 'done' in input.carried && typeof input.carried.done === 'string' ? (input.carried as Carried) : undefined;
  const failed = carried ? Bitset.fromBase64(units.length, carried.failed) : new Bitset(units.length);
  const failures = carried ? carried.failures.map((f) => ({ ...f, units: [...(f.units ?? [])] })) : [];
  const fail = (i: number, message: string) => {
    if (failed.has(i) || isDone[i]) return;
    failed.add(i);
    recordFailure(failures, message, units[i]?.id ?? `#${i}`);
  };

  const scheduled = new Map<string, { unitIndex: number; moved: number }>();
  const passed = new Set<number>();
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s && s.activityType?.name === 'runUnit' && s.input?.payloads?.[0]) {
      const a = defaultPayloadConverter.fromPayload(s.input.payloads[0]) as { unitIndex: number; moved?: number };
      scheduled.set(String(e.eventId), { unitIndex: a.unitIndex, moved: a.moved ?? 0 });
      passed.add(a.unitIndex);
      continue;
    }
    const end = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    const unit = end && scheduled.get(String(end.scheduledEventId));
    if (!end || !unit) continue;
    if (end.failure?.applicationFailureInfo?.type === WORKER_SHUTDOWN && unit.moved < MAX_MOVES) continue;
    fail(unit.unitIndex, end.failure?.message ?? 'failed (no message in the history)');
  }

  const layout = planLayout(units);
  const [s0, s1] = layout.shards;
  const settledBefore = (i: number) => units.slice(0, i).every((_, j) => isDone[j] || failed.has(j) || passed.has(j) || j === layout.merge || j === layout.report);
  for (const i of [layout.merge, layout.report].filter((i) => i >= 0).sort((a, b) => a - b)) {
    const blocked = i === layout.report ? failed.cardinality > 0 : failed.countIn(s0, s1) > 0;
    if (blocked && settledBefore(i)) fail(i, SKIPPED_FAILED_DEPENDENCY);
  }
  return { failed, failures };
}

/** Result keys in the store, one listing per unit kind. */
async function finishedKeys(store: ArtifactStore, units: SweepPlan['units']): Promise<Set<string>> {
  const found = new Set<string>();
  const suffix = `/${UNIT_FILES.result}`;
  for (const kind of new Set(units.map((u) => u.kind))) {
    for (const key of await store.list(`${UNITS_PREFIX}${kind}/`)) if (key.endsWith(suffix)) found.add(key);
  }
  return found;
}

/** Whether and since when a worker polls `queue` for workflow tasks (the ones that answer queries). */
async function pollerNote(client: Client, namespace: string, queue: string): Promise<string> {
  let pollers: Array<{ lastAccessTime?: { seconds?: unknown; nanos?: number | null } | null }>;
  try {
    const r = await client.workflowService.describeTaskQueue({
      namespace,
      // TASK_QUEUE_KIND_NORMAL and TASK_QUEUE_TYPE_WORKFLOW (the proto package is CommonJS: no named import).
      taskQueue: { name: queue, kind: 1 },
      taskQueueType: 1,
    });
    pollers = r.pollers ?? [];
  } catch (e) {
    return `no worker answered, and Temporal did not describe task queue ${queue} (${(e as Error).message})`;
  }
  const ms = (t: (typeof pollers)[number]['lastAccessTime']) => (t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0);
  const last = Math.max(0, ...pollers.map((p) => ms(p.lastAccessTime)));
  if (!last) return `no worker is polling task queue ${queue} (none seen by Temporal in the last minutes); start one with \`dreamsweep worker --queues ${queue}\``;
  const ago = Math.max(0, Math.round((Date.now() - last) / 1000));
  return `no worker answered; the last poll of task queue ${queue} was at ${new Date(last).toISOString()} (${ago}s ago)`;
}
