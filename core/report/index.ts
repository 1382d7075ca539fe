// The z-score report (paper section 3.5): aggregateSweep reads a sweep's artifacts into ReportData,
// attributeBestPrompts (optional, needs the model) adds token attributions, buildReport turns both into
// files: report.html (self-contained), report.json and CSVs. Format and usage: docs/report.md.
import { canonicalJson } from '../canonical-json.js';
import { reportCsvs } from './csv.js';
import { renderHtml, type RenderOptions } from './render.js';
import type { Attribution, ReportData } from './types.js';

export { aggregateSweep, DEFAULT_PERPLEXITY_CAP, planKeyOf, readSweepPlan, summarize, targetLabel, type AggregateOptions } from './aggregate.js';
export { ATTRIBUTION_K, attributeBestPrompts, attributionRequests, tokenAttribution, type AttributionRequest } from './attribution.js';
export { figures, renderSvg } from './charts.js';
export * from './types.js';
/** Where the sweep's report unit keeps its files: `sweeps/<id>/report/<file>`. */
export { reportKey } from '../sweep/layout.js';

/** Content types for storing the files (`store.put(key, body, { contentType })`). */
export function contentTypeOf(file: string): string {
  if (file.endsWith('.html')) return 'text/html; charset=utf-8';
  if (file.endsWith('.json')) return 'application/json';
  if (file.endsWith('.csv')) return 'text/csv; charset=utf-8';
  return 'application/octet-stream';
}

/**
 * Why: one function gives every output file (name -> content), so the report activity writes them to the
 * store and the CLI to a directory, byte-identical for the same inputs.
 */
export async function buildReport(data: ReportData, attribution?: Attribution[], options: RenderOptions = {}): Promise<Record<string, string | Uint8Array>> {
  const files: Record<string, string | Uint8Array> = {};
  files['report.html'] = await renderHtml(data, attribution, options);
  files['report.json'] = stableJson({ ...data, attribution: attribution ?? null }) + '\n';
  Object.assign(files, reportCsvs(data, attribution));
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** JSON with sorted object keys and 1-space indentation; non-finite numbers (none expected) become null. */
export function stableJson(value: unknown): string {
  return canonicalJson(value, 1);
}
