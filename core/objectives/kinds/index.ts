// The objective kinds, one record each (types.ts says what a record holds). Adding a kind: its record here (with its
// f from raw taps for the dataset scan, `lastToken`), its tensor maths in the engines (core/model/objectives.ts,
// engines/torch), docs/objectives.md.
import type { ModelShape, Objective, TapValues } from '../../engine.js';
import { UserError } from '../../errors.js';
import type { Tap } from '../../model/taps.js';
import type { ScanFeature } from '../../corpus/result.js';
import type { SweepSpec } from '../../sweep/spec.js';
import { logit } from './logit.js';
import { neuron } from './neuron.js';
import { resid } from './resid.js';
import { sae } from './sae.js';
import type { EpoTarget, Kind, ObjectiveKind, ParseContext, ResolveContext, SweepTarget } from './types.js';

export type { EpoTarget, Kind, ObjectiveKind, ParseContext, ResolveContext, SweepTarget, TargetOf } from './types.js';

/** In plan and report order. */
export const KINDS: { readonly [K in Kind]: ObjectiveKind<K> } = { resid, neuron, logit, sae };
export const KIND_ORDER = Object.keys(KINDS) as Kind[];

/** The record of a kind, typed loosely: its functions take any objective or target of that kind. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function kindOf(kind: Kind): ObjectiveKind<any> {
  const k = (KINDS as Record<string, ObjectiveKind<Kind>>)[kind];
  if (!k) throw new UserError('E_OBJECTIVE', `unknown objective kind ${JSON.stringify(kind)} (known: ${KIND_ORDER.join(', ')})`);
  return k;
}

/** The kinds with a list under the sweep file's `targets`, in the table's order. */
export const SWEEP_TARGET_LISTS = KIND_ORDER.map((k) => KINDS[k] as ObjectiveKind<Kind>).filter(
  (k): k is ObjectiveKind<Kind> & { sweepFile: NonNullable<ObjectiveKind<Kind>['sweepFile']> } => k.sweepFile !== undefined,
);

/** Every CLI form, for --help and errors. */
export const OBJECTIVE_FORMS: string[] = KIND_ORDER.flatMap((k) => KINDS[k].forms);

export function validateObjectiveShape(obj: Objective, shape: ModelShape): void {
  kindOf(obj.kind).validate(obj, shape, (msg: string) => new UserError('E_OBJECTIVE', `objective ${obj.kind}: ${msg}`));
}

export function tapsOf(obj: Objective): Tap[] {
  return kindOf(obj.kind).taps(obj);
}

export function describeObjectiveOf(obj: Objective): Record<string, unknown> {
  return kindOf(obj.kind).describe(obj);
}

export function resolveTargetOf(target: EpoTarget, ctx: ResolveContext): Objective {
  return kindOf(target.kind).resolve(target, ctx);
}

/** Every kind's EPO targets of a sweep, in plan order. */
export function sweepTargets(spec: SweepSpec, vectorCounts: Map<number, number>): Array<SweepTarget<Kind> & { kind: ObjectiveKind<Kind> }> {
  return KIND_ORDER.flatMap((k) =>
    KINDS[k].sweepTargets(spec, vectorCounts).map((t) => ({ ...t, kind: KINDS[k] as ObjectiveKind<Kind> }) as SweepTarget<Kind> & { kind: ObjectiveKind<Kind> }),
  );
}

export function targetKeyJson(t: EpoTarget): string {
  return kindOf(t.kind).keyJson(t);
}

export function targetLabelOf(t: EpoTarget, vectors?: SweepSpec['study']['vectors']): string {
  return kindOf(t.kind).label(t, vectors);
}

export function compareTargetsOf(a: EpoTarget, b: EpoTarget): number {
  if (a.kind !== b.kind) return KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
  return kindOf(a.kind).compare(a, b);
}

/** Targets a sweep names besides the residual study (before seeds). */
export function sweepTargetCount(spec: SweepSpec): number {
  return KIND_ORDER.reduce((n, k) => n + KINDS[k].targetCount(spec), 0);
}

export function checkSweepTargets(spec: SweepSpec, shape: ModelShape): void {
  for (const k of KIND_ORDER) KINDS[k].checkSweep?.(spec, shape);
}

export function parseWith(kind: string, body: string, ctx: ParseContext): Objective | undefined {
  return (KINDS as Record<string, ObjectiveKind<Kind>>)[kind]?.parse(body, ctx);
}

/** Why: a kind's f from raw taps, for the dataset scan (every kind but resid, whose directions the scan aligns itself). */
function lastTokenOf(kind: Kind): NonNullable<ObjectiveKind<Kind>['lastToken']> {
  const l = kindOf(kind).lastToken;
  if (!l) throw new UserError('E_OBJECTIVE', `a ${kind} objective is not a scan feature (residual directions are the scan's layers and vectors)`);
  return l;
}

/** The tap names the dataset scan asks for to compute this objective's f itself. */
export function lastTokenTaps(obj: Objective): string[] {
  return lastTokenOf(obj.kind).taps(obj);
}

/** f [B] of each objective from raw last-token taps (each kind's `lastToken`), in the order given. */
export function lastTokenValues(objs: readonly Objective[], taps: TapValues, B: number): Float64Array[] {
  const out = new Array<Float64Array>(objs.length);
  for (const kind of KIND_ORDER) {
    const at = objs.flatMap((o, i) => (o.kind === kind ? [i] : []));
    if (at.length === 0) continue;
    const values = lastTokenOf(kind).values(
      at.map((i) => objs[i]!),
      taps,
      B,
    );
    at.forEach((i, j) => (out[i] = values[j]!));
  }
  return out;
}

/** The sweep's neuron, logit and SAE targets in plan order (no seeds): the dataset scan's features. */
export function featureTargets(spec: SweepSpec): EpoTarget[] {
  return KIND_ORDER.filter((k) => KINDS[k].lastToken !== undefined).flatMap((k) => KINDS[k].sweepTargets(spec, new Map()).map((t) => t.target as EpoTarget));
}

/** The sweep target a CLI objective spec names (`dreamsweep scan --objective`), for its key and label. */
export function targetOfSpec(spec: string, obj: Objective): EpoTarget {
  const f = kindOf(obj.kind).targetOfSpec;
  if (!f)
    throw new UserError('E_OBJECTIVE', `objective ${JSON.stringify(spec)}: a ${obj.kind} objective is not a scan feature; give residual directions with --layers and --vectors`);
  return f(spec.slice(spec.indexOf(':') + 1), obj);
}

/** A target and its resolved objective as a scan feature: its key, label and banned text from its kind's record. */
export function featureOf(target: EpoTarget, objective: Objective): ScanFeature {
  const k = kindOf(target.kind);
  if (!k.lastToken || target.kind === 'resid') throw new Error(`featureOf: a ${target.kind} target is not a scan feature`);
  const banned = k.bannedText?.(target);
  return { key: k.keyJson(target), kind: target.kind, label: k.label(target), objective, ...(banned !== undefined && { bannedText: banned }) };
}
