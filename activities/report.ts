// The report unit, the sweep's last: aggregates every unit's artifacts, attributes the best prompts with
// the engine (paper Fig. 1), renders report.html with its CSV and JSON, and stores them beside the plan.
// All of that but the engine's compute and the store's calls runs in a worker thread (core/report/thread.ts).
import { Context } from '@temporalio/activity';
import { contentTypeOf } from '../core/report/index.js';
import { buildReportInThread } from '../core/report/thread.js';
import type { ArtifactStore } from '../core/store/index.js';
import { reportKey, resultKey } from '../core/sweep/layout.js';
import type { SweepPlan } from '../core/sweep/plan.js';
import { heartbeatWhile, jsonBytes, type ActivityDeps } from './context.js';

export interface ReportUnitResult {
  kind: 'report';
  files: string[];
  missing: number;
}

export async function runReportUnit(deps: ActivityDeps, store: ArtifactStore, plan: SweepPlan, unit: SweepPlan['units'][number]): Promise<ReportUnitResult> {
  const ctx = Context.current();
  const engine = await heartbeatWhile(deps.models.engine(plan.spec.model, plan.spec.storage), { loading: plan.spec.model.path });
  const modelDir = await deps.models.dir(plan.spec.model, plan.spec.storage);
  const { files, missing } = await heartbeatWhile(buildReportInThread(store, engine, { plan, modelDir }, { onProgress: (p) => ctx.heartbeat(p), signal: ctx.cancellationSignal }), {
    report: unit.id,
  });
  for (const [name, content] of Object.entries(files)) await store.put(reportKey(plan.sweepId, name), content, { contentType: contentTypeOf(name) });
  const summary: ReportUnitResult = { kind: 'report', files: Object.keys(files).sort(), missing };
  // No sweep ID in here: the unit's result is the same whichever sweep (or store) produced it.
  await store.put(resultKey(unit), jsonBytes({ unit: unit.id, ...summary }));
  return summary;
}
