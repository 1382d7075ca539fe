// The shape of one objective kind's record (core/objectives/kinds/index.ts holds the table). Everything about a
// kind but its tensor maths lives in its record; the engines (core/model/objectives.ts, engines/torch) keep that.
import type { z } from 'zod';
import type { ModelShape, Objective, TapValues, Tokenizer } from '../../engine.js';
import type { Tap } from '../../model/taps.js';
import type { Method } from '../../sweep/plan.js';
import type { Problem } from '../../sweep/issues.js';
import type { SweepSpec } from '../../sweep/spec.js';
import type { VectorSet } from '../vectors.js';

export type Kind = Objective['kind'];
export type ObjectiveOf<K extends Kind> = Extract<Objective, { kind: K }>;

/** A sweep's EPO target: plain JSON, part of its unit's key. */
export type EpoTarget =
  | { kind: 'resid'; layer: number; vector: number }
  | { kind: 'neuron'; layer: number; index: number }
  | { kind: 'logit'; token: string; bannedText?: string }
  /** `path` absolute as the sweep file resolved it; `tap` only where the sweep file named site and layer. */
  | { kind: 'sae'; path: string; tap?: string; latent: number };
export type TargetOf<K extends Kind> = Extract<EpoTarget, { kind: K }>;

/** The sweep file's target lists, as the spec holds them (expanded: one entry per target, in the order written). */
export interface SweepTargetLists {
  neurons: Array<{ layer: number; index: number }>;
  tokens: Array<{ token: string; bannedText?: string }>;
  /**
   * SAE latents (`path` absolute; `tap` = site.layer where the file gave them). Absent when the file names none,
   * so the spec (and the sweep's ID) of older files is as before.
   */
  saes?: Array<{ path: string; tap?: string; latent: number }>;
}
export type TargetListKey = keyof SweepTargetLists;

/** A kind's list under the sweep file's `targets`. */
export interface SweepFileList<L extends TargetListKey> {
  key: L;
  /** The list's schema (its default included), with the sweep file's wording (core/sweep/schema.ts). */
  schema: z.ZodDefault<z.ZodType<unknown[]>>;
  /** Targets the validated list names, before seeds. */
  count(raw: unknown[]): number;
  /** The spec's list from the validated one: paths resolved with `at`, repeats pushed to `problems`; undefined leaves the key out. */
  build(raw: unknown[], ctx: { at: (p: string) => string; problems: Problem[] }): SweepTargetLists[L] | undefined;
}

/** What parsing a CLI spec needs: the model, and the caller's error for a bad spec. */
export interface ParseContext {
  shape: ModelShape;
  tokenizer: Tokenizer;
  fail: (why: string) => Error;
  int: (text: string | undefined, what: string, lo: number, hi: number) => number;
}

/** What resolving a sweep target needs. `where` names the sweep in errors. */
export interface ResolveContext {
  tokenizer: Tokenizer;
  /** The sweep's vector set (residual targets only). */
  vectors: VectorSet | undefined;
  where: string;
  dVocab: number;
  /** The model's shape, where known (checks of SAE targets). */
  shape?: ModelShape;
}

/** One EPO unit group of a sweep: a target and the seeds it runs with. */
export interface SweepTarget<K extends Kind> {
  target: TargetOf<K>;
  seeds: number[];
  /** The unit's id for one seed, e.g. `neuron/L1.N3/s0`. */
  id: (seed: number) => string;
  layer?: number;
}

export interface ObjectiveKind<K extends Kind> {
  kind: K;
  /** CLI forms, for --help and errors. */
  forms: string[];
  /** One line for the docs and --help: what f is. */
  summary: string;
  /** Parses the spec's text after `<kind>:`. */
  parse(body: string, ctx: ParseContext): ObjectiveOf<K>;
  /** Checks an objective against the model; `bad` makes the caller's error. */
  validate(obj: ObjectiveOf<K>, shape: ModelShape, bad: (msg: string) => Error): void;
  /** The taps the engine must produce for it (logit reads the last position's logits instead). */
  taps(obj: ObjectiveOf<K>): Tap[];
  /** A JSON-safe description, for artifacts' provenance. */
  describe(obj: ObjectiveOf<K>): Record<string, unknown>;

  /** Its list under the sweep file's `targets` (resid has none: its targets are the study's layers and vectors). */
  sweepFile?: SweepFileList<TargetListKey>;
  /** The method its sweep units report under. */
  method: Method;
  /** Its EPO targets in a sweep, in plan order. */
  sweepTargets(spec: SweepSpec, vectorCounts: Map<number, number>): Array<SweepTarget<K>>;
  /** How many targets the sweep names (before seeds). */
  targetCount(spec: SweepSpec): number;
  /** Checks the sweep's targets against the model before anything runs (E_SWEEP_MODEL). */
  checkSweep?(spec: SweepSpec, shape: ModelShape): void;
  /** Its objective for a sweep target. */
  resolve(target: TargetOf<K>, ctx: ResolveContext): ObjectiveOf<K>;
  /** canonicalJson(target), written out where speed matters (unit keys of million-unit plans). */
  keyJson(target: TargetOf<K>): string;
  /** Whether its unit keys include the sweep's vector set. */
  usesVectors: boolean;
  /** The target as the report names it. */
  label(target: TargetOf<K>, vectors?: SweepSpec['study']['vectors']): string;
  compare(a: TargetOf<K>, b: TargetOf<K>): number;
  /** Text EPO bans from its prompts. */
  bannedText?(target: TargetOf<K>): string | undefined;
  /** The sweep target a CLI spec names (`dreamsweep scan --objective`): for its key and label. */
  targetOfSpec?(body: string, obj: ObjectiveOf<K>): TargetOf<K>;
  /**
   * f from raw tap values at the last token, as the engines compute it, for the dataset scan (core/corpus/scan.ts),
   * which reads every target from one forward pass. Every kind but resid (whose alignments the scan computes itself).
   */
  lastToken?: LastTokenValues<K>;
}

/** A kind's f computed outside the engine from `engine.taps` output (values at the last token). */
export interface LastTokenValues<K extends Kind> {
  /** The tap names f reads (`logits` for the last position's logits). */
  taps(obj: ObjectiveOf<K>): string[];
  /** f [B] of each objective, in float64; one call per batch for all of the kind's objectives, so they may share work. */
  values(objs: ReadonlyArray<ObjectiveOf<K>>, taps: TapValues, B: number): Float64Array[];
}
