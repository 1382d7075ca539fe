// `sweep status` when no worker answers the sweep's progress query (every worker down, or one restarting):
// the counts from what is known without one, the store (the plan, the results, who wrote them) and the
// workflow's description (its state, the units in flight), and since when no worker polls its queue.
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import pLimit from 'p-limit';
import { openStore, type ArtifactStore } from '../core/store/index.js';
import { resultKey, UNIT_FILES, UNITS_PREFIX, writerKey } from '../core/sweep/layout.js';
import { groupName, type SweepPlan } from '../core/sweep/plan.js';
import { readSweepPlan } from '../core/sweep/plans.js';
import type { SweepSpec } from '../core/sweep/spec.js';
import type { GroupProgress, SweepProgress } from '../workflows/progress.js';

/** SweepProgress as the store tells it: failed units are known only to the workflow (null: unknown). */
export interface OfflineProgress extends Omit<SweepProgress, 'failed' | 'groups' | 'status'> {
  status: string;
  failed: number | null;
  groups: Array<Omit<GroupProgress, 'failed'> & { failed: number | null }>;
  /** Where the counts come from: the store and the workflow's description, not the workflow's own answer. */
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
  const groups = new Map<string, OfflineProgress['groups'][number]>();
  const done: SweepPlan['units'] = [];
  for (const u of plan.units) {
    const name = groupName(u);
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { method: u.method, ...(u.layer !== undefined && { layer: u.layer }), total: 0, done: 0, running: 0, failed: null }));
    g.total++;
    if (finished.has(resultKey(u))) {
      g.done++;
      done.push(u);
    }
  }
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
  return { ...base, status, total: plan.units.length, done: done.length, ran, cached: done.length - ran, failed: null, groups: [...groups.values()] };
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
