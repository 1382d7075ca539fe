// The report unit, the sweep's last: aggregates every unit's artifacts, attributes the best prompts with
// the engine (paper Fig. 1), renders report.html with its CSV and JSON, and stores them beside the plan.
import { Context } from '@temporalio/activity';
import { aggregateSweep } from '../core/report/aggregate.js';
import { attributeBestPrompts } from '../core/report/attribution.js';
import { buildReport, contentTypeOf } from '../core/report/index.js';
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
  const data = await aggregateSweep(store, plan, { decode: (ids) => engine.tokenizer.decode(ids) });
  const attribution = await attributeBestPrompts(engine, store, data, { onProgress: (p) => ctx.heartbeat(p) });
  const files = await buildReport(data, attribution);
  for (const [name, content] of Object.entries(files)) await store.put(reportKey(plan.sweepId, name), content, { contentType: contentTypeOf(name) });
  const summary: ReportUnitResult = { kind: 'report', files: Object.keys(files).sort(), missing: data.missing.length };
  // No sweep ID in here: the unit's result is the same whichever sweep (or store) produced it.
  await store.put(resultKey(unit), jsonBytes({ unit: unit.id, ...summary }));
  return summary;
}
