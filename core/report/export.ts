// `dreamsweep export`'s records: a neuron/logit/SAE target's dreams (its EPO frontier across seeds, and its
// best prompt under the perplexity cap) and its dataset examples (the scan feature's top windows) as
// Neuronpedia activation records (tokens, values, maxValue, maxValueTokenIndex, minValue), with fields that
// say what each is. Fields: docs/export.md.
import type { Engine } from '../engine.js';
import { UserError } from '../errors.js';
import { tokenActivations } from '../objectives/token-activations.js';
import { resolveTarget } from '../objectives/target.js';
import { canonicalJson } from '../canonical-json.js';
import type { ArtifactStore } from '../store/index.js';
import type { SweepPlan } from '../sweep/plan.js';
import { targetKeyJson } from '../objectives/kinds/index.js';
import { aggregateSweep } from './aggregate.js';
import { targetLabel } from './statistics.js';
import type { ReportData, TargetReport } from './types.js';

export const EXPORT_FORMAT = 'dreamsweep.export';
export const EXPORT_VERSION = 1;

export interface ActivationRecord {
  /** Neuronpedia's fields: each token as text, the activation at each, their largest (first of equals) and smallest. */
  tokens: string[];
  values: number[];
  maxValue: number;
  maxValueTokenIndex: number;
  minValue: number;
  /** `dream`: found by EPO; `dataset`: a top window of the corpus scan. */
  kind: 'dream' | 'dataset';
  /** The target as the report names it, and its key JSON (targetKeyJson). */
  target: string;
  targetKey: string;
  ids: number[];
  text: string;
  /** The objective at the whole prompt, as EPO or the scan measured it (the activation at the last token). */
  activation: number;
  /** Cross-entropy of the prompt, nats per token (positions 1..n-1). */
  ce: number;
  /** Dreams: the EPO run (seed) that found it, the frontier's lambda (null when not a frontier point), whether it is the best under the cap. */
  seed: number | null;
  lambda: number | null;
  bestUnderCap: boolean;
  /** Dataset examples: rank among the top windows (1 = highest activation) and where the window is in the corpus. */
  rank: number | null;
  source: { file: string; byteOffset: number; token: number } | null;
}

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  sweepId: string;
  modelId: string;
  target: string;
  targetKey: string;
  /** Dreams first (frontier order, lambda ascending, then the best under the cap), then dataset examples by rank. */
  activations: ActivationRecord[];
}

/**
 * The key JSON of the neuron/logit/SAE target `query` names in the plan: its label (`neuron L1.N3`, as the
 * report names it) or its key JSON; else a coded error listing the plan's targets.
 */
export function exportTargetKey(plan: SweepPlan, query: string): string {
  const targets = new Map<string, string>(); // key -> label, plan order
  for (const u of plan.units) {
    if (u.spec.kind === 'epo' && u.spec.target.kind !== 'resid') targets.set(targetKeyJson(u.spec.target), targetLabel(u.spec.target));
  }
  for (const [key, label] of targets) if (label === query || key === query) return key;
  const known = [...targets.values()];
  throw new UserError(
    'E_EXPORT_TARGET',
    known.length
      ? `--target ${JSON.stringify(query)}: no such neuron, logit or SAE target in sweep ${plan.sweepId}; its targets (one of these after --target): ${known.slice(0, 40).join('; ')}${known.length > 40 ? ` and ${known.length - 40} more (the report's index lists all)` : ''}`
      : `--target ${JSON.stringify(query)}: sweep ${plan.sweepId} has no neuron, logit or SAE targets (export covers those; a residual direction has no per-token activation)`,
  );
}

/** Why: the sweep's data for one target, reading only that target's histories (aggregateSweep's onlyTargets). */
export async function exportData(store: ArtifactStore, plan: SweepPlan, query: string): Promise<{ data: ReportData; target: TargetReport }> {
  const key = exportTargetKey(plan, query);
  const data = await aggregateSweep(store, plan, { onlyTargets: new Set([key]) });
  return { data, target: data.targets.find((t) => t.feature.key === key)! };
}

/** The target's scan feature; a coded error when the sweep has none (no scan, unfinished, or from before features). */
export function datasetOf(data: ReportData, target: TargetReport): NonNullable<TargetReport['feature']['dataset']> {
  const d = target.feature.dataset;
  if (d) return d;
  throw new UserError(
    'E_EXPORT_NO_SCAN',
    `sweep ${data.sweepId}: no dataset examples for ${target.label}: the sweep has no finished dataset scan, or its scan predates features (scan.json without "features"); finish or rerun the sweep's scan, then export again`,
  );
}

/**
 * Why: one function gives export's records, in a fixed order. Dreams' per-token values are computed with
 * the engine (tokenActivations); dataset examples use the scan's stored activations, computed the same way
 * where a scan did not store them.
 */
export async function exportRecords(engine: Engine, data: ReportData, target: TargetReport): Promise<ExportFile> {
  const d = datasetOf(data, target);
  const objective = resolveTarget(target.target, engine.tokenizer, undefined, `${data.sweepId} ${target.label}`, engine.shape.dVocab, engine.shape);

  const decode = (ids: number[]) => engine.tokenizer.decode(ids);
  // Dreams: the frontier across seeds, then the best prompt under the cap when it is not on the frontier.
  const dreams: Array<Omit<ActivationRecord, keyof Values>> = [];
  for (const p of target.frontier) {
    if (!p.ids || p.ce === null) continue;
    dreams.push(dream(target, p.ids, decode(p.ids), p.f, p.ce, p.seed, p.lambda, target.bestUnderCap?.ids?.join(',') === p.ids.join(',')));
  }
  const b = target.bestUnderCap;
  if (b?.ids && b.ce !== null && !b.onFrontier) dreams.push(dream(target, b.ids, decode(b.ids), b.f, b.ce, b.seed, null, true));
  const windows = d.top.map((w): Omit<ActivationRecord, keyof Values> => ({
    kind: 'dataset',
    target: target.label,
    targetKey: target.feature.key,
    ids: w.ids,
    text: w.text,
    activation: w.activation,
    ce: w.ce,
    seed: null,
    lambda: null,
    bestUnderCap: false,
    rank: w.rank,
    source: { ...w.source },
  }));
  const missing = d.top.filter((w) => !w.activations).map((w) => w.ids);
  const computed = await tokenActivations(engine, [...dreams.map((r) => r.ids), ...missing], objective);
  let next = dreams.length;
  const valuesOf = [...computed.slice(0, dreams.length), ...d.top.map((w) => w.activations ?? computed[next++]!)];
  const activations = [...dreams, ...windows].map((r, i): ActivationRecord => ({ tokens: r.ids.map((id) => decode([id])), ...summary(valuesOf[i]!), ...r }));
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, sweepId: data.sweepId, modelId: data.modelId, target: target.label, targetKey: target.feature.key, activations };
}

type Values = Pick<ActivationRecord, 'tokens' | 'values' | 'maxValue' | 'maxValueTokenIndex' | 'minValue'>;

function dream(
  t: TargetReport,
  ids: number[],
  text: string,
  f: number,
  ce: number,
  seed: number | null,
  lambda: number | null,
  bestUnderCap: boolean,
): Omit<ActivationRecord, keyof Values> {
  return { kind: 'dream', target: t.label, targetKey: t.feature.key, ids: [...ids], text, activation: f, ce, seed, lambda, bestUnderCap, rank: null, source: null };
}

/** values, their largest (the first of equals: its index) and smallest. */
export function summary(values: number[]): Omit<Values, 'tokens'> {
  let at = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[at]!) at = i;
  return { values: [...values], maxValue: values[at] ?? 0, maxValueTokenIndex: at, minValue: values.length ? Math.min(...values) : 0 };
}

/** The JSON file (keys sorted, 1-space indent) and the JSONL (one record a line, keys sorted). */
export function exportFiles(file: ExportFile): { json: string; jsonl: string } {
  return { json: canonicalJson(file, 1) + '\n', jsonl: file.activations.map((r) => canonicalJson(r)).join('\n') + (file.activations.length ? '\n' : '') };
}

/** A file-name-safe form of a target label: `neuron L1.N3` -> `neuron_L1.N3`. */
export function exportName(label: string): string {
  return (
    label
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 120) || 'target'
  );
}
