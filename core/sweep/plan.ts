// A sweep turned into units of work. Each unit's store key is the hash of everything that determines its
// result (what it computes, the model's identity, the settings it uses, the version of its output format),
// so a finished unit is found in the store and never recomputed, whichever sweep asks for it.
import { createHash } from 'node:crypto';
import { RANDOM_DEFAULTS } from '../baselines/random.js';
import type { ModelShape } from '../engine.js';
import { featureTargets, kindOf, sweepTargets, targetKeyJson, type EpoTarget, type Kind } from '../objectives/kinds/index.js';
import { canonicalJson } from '../canonical-json.js';
import { epoResultKnobs } from './epo-method.js';
import { unitPrefix } from './layout.js';
import { studyLayers, type SweepSpec } from './spec.js';

export { canonicalJson } from '../canonical-json.js';
export { reportPrefix, resultKey } from './layout.js';

/**
 * Bump a kind's version when its artifacts change meaning, layout or bytes: old results are then not reused.
 * epo 2: the one-hot gradient includes CE's target term, as the paper's code takes it, so EPO chooses differently.
 * report 3: control characters of prompt texts are escaped in report.html.
 * report 4: targets named as the sweep file did; figures link points to table rows, with hover titles; keyed
 * by the names it shows too.
 * scan-shard/scan-merge 3: scan format 3 (features: the sweep's neuron, logit and SAE targets; histograms and quantiles).
 */
export const UNIT_FORMAT = { random: 1, 'scan-shard': 3, 'scan-merge': 3, epo: 2, report: 4 } as const;

export type { EpoTarget } from '../objectives/target.js';

export const PLAN_FORMAT = 2;

/** The dependency rule: the scan merge runs after every scan shard; the report after every other unit. */
export function dependsOn(unit: Pick<Unit, 'kind'>, other: Pick<Unit, 'kind'>): boolean {
  if (unit.kind === 'report') return other.kind !== 'report';
  return unit.kind === 'scan-merge' && other.kind === 'scan-shard';
}

/** Where the units with dependencies sit in a plan (planUnits keeps the shards contiguous). -1: none. */
export interface PlanLayout {
  total: number;
  /** [first, end) of the scan shards. */
  shards: [number, number];
  merge: number;
  report: number;
}

export function planLayout(units: ReadonlyArray<Pick<Unit, 'kind'>>): PlanLayout {
  const first = units.findIndex((u) => u.kind === 'scan-shard');
  let end = first;
  while (end >= 0 && end < units.length && units[end]!.kind === 'scan-shard') end++;
  const layout = {
    total: units.length,
    shards: (first < 0 ? [0, 0] : [first, end]) as [number, number],
    merge: units.findIndex((u) => u.kind === 'scan-merge'),
    report: units.findIndex((u) => u.kind === 'report'),
  };
  const shards = units.filter((u) => u.kind === 'scan-shard').length;
  if (shards !== layout.shards[1] - layout.shards[0]) throw new Error('planLayout: the scan shards are not contiguous');
  return layout;
}

/** A unit's progress group: method and layer, as `sweep status` shows them. */
export function groupName(u: Pick<Unit, 'method' | 'layer'>): string {
  return `${u.method}/${u.layer ?? ''}`;
}

export type UnitSpec =
  | { kind: 'random'; layer: number }
  | { kind: 'scan-shard'; shard: number; shards: number }
  | { kind: 'scan-merge'; shards: number }
  | { kind: 'epo'; target: EpoTarget; seed: number }
  | { kind: 'report' };

/** A unit's method: `epo` for the residual study's EPO units, a target kind's own (core/objectives/kinds/) for the others. */
export type Method = 'random' | 'scan' | 'epo' | 'report' | TargetMethod;
/** The methods of the target kinds (every kind but resid, whose units are the residual study's `epo`). */
export type TargetMethod = Exclude<Kind, 'resid'>;

/** A unit as the workflow sees it: no parameters, just what it needs to schedule and report. */
export interface Unit {
  /** Human-readable and unique within the sweep: `epo/L4/v12/s0`, `random/L4`, `scan/shard-1-of-4`. */
  id: string;
  /** Store prefix of the unit's artifacts: `units/<kind>/<hash>`; `<key>/result.json` marks it finished. */
  key: string;
  kind: UnitSpec['kind'];
  method: Method;
  layer?: number;
  /**
   * Units that must finish first (ids): only in plans of format 1. Since format 2 dependencies go by rule
   * (dependsOn): the scan merge after every shard, the report after every other unit.
   */
  after?: string[];
  queue: 'model' | 'aux';
}

/**
 * Everything an activity needs to run a unit, stored under its hash (core/sweep/plans.ts). Format 2: units
 * carry no dependency lists (dependsOn says them); a plan without `format` is format 1.
 */
export interface SweepPlan {
  format?: typeof PLAN_FORMAT;
  sweepId: string;
  spec: SweepSpec;
  modelId: string;
  shape: ModelShape;
  /** Store key of the vector set (`{layer: [[d floats]...]}`), named by its content hash. */
  vectorsKey: string;
  units: PlannedUnit[];
}

/**
 * A unit of a plan: the workflow's Unit with the spec an activity runs it from. `PlannedUnit<'epo'>` is an EPO
 * unit; the plain type is the union of every kind, narrowed by `kind` (which always equals `spec.kind`).
 */
export type PlannedUnit<K extends UnitSpec['kind'] = UnitSpec['kind']> = K extends UnitSpec['kind'] ? Unit & { kind: K; spec: Extract<UnitSpec, { kind: K }> } : never;

export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A sweep's ID: its name and a hash of its validated spec, so relaunching the same file finds the same sweep. */
export function sweepIdOf(spec: SweepSpec): string {
  const { source: _s, temporal: _t, concurrency: _c, ...what } = spec;
  return `${spec.name}-${sha256(canonicalJson(what)).slice(0, 12)}`;
}

/** Best prompts the random baseline keeps per (layer, vector): as many as the scan keeps, so they compare. */
export function randomTopK(spec: SweepSpec): number {
  return spec.methods.scan?.top ?? RANDOM_DEFAULTS.top;
}

/**
 * EPO unit keys, fast: the same text keyOf would hash (canonical JSON of { format, kind, modelId, what },
 * `what` = { kind, knobs, seed, seqLen, target, vectorsKey? }), with the parts every unit shares rendered
 * once. A million-unit plan hashes a million of these; test/core/sweep/plan.test.ts keeps it equal to keyOf.
 */
export function epoKeyOf(modelId: string, seqLen: number, knobs: unknown, vectorsKey: string): (target: EpoTarget, seed: number) => string {
  const head = `{"format":${UNIT_FORMAT.epo},"kind":"epo","modelId":${JSON.stringify(modelId)},"what":{"kind":"epo","knobs":${canonicalJson(knobs)},"seed":`;
  const resid = `,"vectorsKey":${JSON.stringify(vectorsKey)}}}`;
  return (target, seed) =>
    unitPrefix('epo', sha256(`${head}${JSON.stringify(seed)},"seqLen":${seqLen},"target":${targetKeyJson(target)}${kindOf(target.kind).usesVectors ? resid : '}}'}`).slice(0, 32));
}

/** A unit's key: the hash of everything that determines its result (see epoKeyOf for EPO units' fast path). */
export function unitKeyOf(kind: UnitSpec['kind'], modelId: string, what: unknown): string {
  return unitPrefix(kind, sha256(canonicalJson({ kind, format: UNIT_FORMAT[kind], modelId, what })).slice(0, 32));
}

export function planUnits(spec: SweepSpec, modelId: string, vectorsKey: string, vectorCounts: Map<number, number>): SweepPlan['units'] {
  const units: SweepPlan['units'] = [];
  const n = spec.study.seqLen;
  const keyOf = (kind: UnitSpec['kind'], what: unknown) => unitKeyOf(kind, modelId, what);

  const random = spec.methods.random;
  if (random) {
    for (const layer of studyLayers(spec)) {
      const s: UnitSpec = { kind: 'random', layer };
      const key = keyOf('random', { ...s, seqLen: n, vectorsKey, prompts: random.prompts, seed: random.seed, top: randomTopK(spec) });
      units.push({ id: `random/L${layer}`, key, kind: 'random', method: 'random', layer, queue: 'model', spec: s });
    }
  }

  const scan = spec.methods.scan;
  if (scan) {
    const settings = {
      seqLen: n,
      vectorsKey,
      // None in a sweep of targets alone: the scan reads only the features.
      layers: studyLayers(spec),
      corpus: scan.corpus,
      textField: scan.textField,
      tokens: scan.tokens,
      stride: scan.stride ?? n,
      top: scan.top,
      skipBad: scan.skipBad,
      // The neuron, logit and SAE targets it reads too, by their keys: adding a target redoes the scan.
      features: featureTargets(spec).map(targetKeyJson),
    };
    for (let shard = 0; shard < scan.shards; shard++) {
      const s: UnitSpec = { kind: 'scan-shard', shard, shards: scan.shards };
      const id = `scan/shard-${shard + 1}-of-${scan.shards}`;
      units.push({ id, key: keyOf('scan-shard', { ...s, ...settings }), kind: 'scan-shard', method: 'scan', queue: 'model', spec: s });
    }
    const s: UnitSpec = { kind: 'scan-merge', shards: scan.shards };
    units.push({ id: 'scan/merge', key: keyOf('scan-merge', { ...s, ...settings }), kind: 'scan-merge', method: 'scan', queue: 'aux', spec: s });
  }

  const epo = spec.methods.epo;
  if (epo) {
    const key = epoKeyOf(modelId, n, epoResultKnobs(epo), vectorsKey);
    // Every kind's targets, in the table's order (resid, neuron, logit, sae), each with its seeds.
    for (const { target, seeds, id, layer, kind } of sweepTargets(spec, vectorCounts)) {
      for (const seed of seeds) {
        units.push({ id: id(seed), key: key(target, seed), kind: 'epo', method: kind.method, layer, queue: 'model', spec: { kind: 'epo', target, seed } });
      }
    }
  }
  // Last: the report over everything above; its key changes whenever any input unit or a report setting does,
  // or what its pages name (the sweep's name, the file its vectors came from): a sweep whose units another
  // sweep in the store already ran, from another file, still writes its own report.
  if (units.length > 0) {
    const what = { inputs: units.map((u) => u.key).sort(), report: spec.report, seqLen: n, names: { sweep: spec.name, vectors: spec.study.vectors } };
    units.push({ id: 'report', key: keyOf('report', what), kind: 'report', method: 'report', queue: 'model', spec: { kind: 'report' } });
  }
  return units;
}
