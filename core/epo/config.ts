// EPO's configuration: its type, the defaults (the paper's Table 1) and the validation, both derived from
// the knobs declared in knobs.ts.
import { UserError } from '../errors.js';
import { EPO_KNOBS, EPO_RULES, knobType, type EpoKnobValues } from './knobs.js';

/** EPO's options: every knob of knobs.ts (optional where it has no default), and the initial prompt. */
export type EpoConfig = EpoKnobValues & {
  /** Initial prompt (every slot starts from it); random tokens when absent. Not knobs: `dreamsweep epo` parses them itself. */
  initIds?: number[];
  initText?: string;
};

/** Table 1 of the paper, plus the engineering knobs (from EPO_KNOBS). */
export const EPO_DEFAULTS: EpoConfig = Object.fromEntries(EPO_KNOBS.filter((k) => k.default !== undefined).map((k) => [k.key, k.default])) as unknown as EpoConfig;

/**
 * GCG (Zou et al. 2023) is EPO with one slot and lambda = 0. Its one member gets every candidate EPO evaluates per
 * iteration (M x r of the defaults, 256), as the paper's code runs it, unless `children` is given.
 */
export function gcg(config: Partial<EpoConfig> = {}): Partial<EpoConfig> {
  const children = config.children ?? EPO_DEFAULTS.population * EPO_DEFAULTS.children;
  return { ...config, population: 1, children, lambdaMin: 0, lambdaMax: 0 };
}

/** Defaults filled in and every knob checked; `dVocab` bounds top-k and initial ids. */
export function resolveEpoConfig(partial: Partial<EpoConfig>, dVocab: number): EpoConfig {
  const c: EpoConfig = { ...EPO_DEFAULTS };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (c as unknown as Record<string, unknown>)[key] = value;
  }
  for (const k of EPO_KNOBS) {
    const v = c[k.key];
    if (v === undefined && k.default === undefined) continue;
    const max = k.maxVocab ? dVocab : (k.max ?? Number.MAX_SAFE_INTEGER);
    const ok =
      k.type === 'bool'
        ? typeof v === 'boolean'
        : k.type === 'text'
          ? typeof v === 'string'
          : typeof v === 'number' && Number.isFinite(v) && (k.type === 'number' || Number.isInteger(v)) && v >= k.min! && v <= max;
    if (!ok) {
      const why = k.maxVocab ? ` (the model has ${dVocab} tokens)` : (k.why ?? '');
      throw new UserError('E_EPO_CONFIG', `EPO option ${k.key}: expected ${knobType(k, k.maxVocab ? dVocab : undefined)}, got ${JSON.stringify(v)}${why}`);
    }
  }
  for (const rule of EPO_RULES) {
    const expected = rule.broken(c);
    if (expected) throw new UserError('E_EPO_CONFIG', `EPO option ${rule.key}: expected ${expected}, got ${c[rule.key]}; ${rule.fix}`);
  }
  if (c.initIds && c.initText !== undefined) {
    throw new UserError('E_EPO_CONFIG', 'EPO options initIds and initText: give one initial prompt, not both');
  }
  if (c.initIds) {
    if (c.initIds.length !== c.seqLen) {
      throw new UserError('E_EPO_CONFIG', `EPO option initIds: expected ${c.seqLen} ids (seqLen), got ${c.initIds.length}`);
    }
    const bad = c.initIds.find((id) => !Number.isInteger(id) || id < 0 || id >= dVocab);
    if (bad !== undefined) throw new UserError('E_EPO_CONFIG', `EPO option initIds: id ${bad} is outside the model's vocabulary [0, ${dVocab})`);
  }
  // A knob without a default is off unless given, and false or 0 are off too: not recorded, so a run without it has
  // the config it always had.
  for (const k of EPO_KNOBS) if (k.default === undefined && (c[k.key] === false || c[k.key] === 0)) delete c[k.key];
  if (c.bannedText !== undefined && c.bannedText.length === 0) {
    throw new UserError('E_EPO_CONFIG', 'EPO option bannedText: an empty string would ban every prompt; omit it instead');
  }
  return c;
}

/** k at iteration i: the top-k schedule's geometric rise from topkStart to topk over topkRamp iterations, else topk. */
export function topkAt(c: Pick<EpoConfig, 'topk' | 'topkStart' | 'topkRamp'>, i: number): number {
  if (c.topkStart === undefined || c.topkRamp === undefined || i >= c.topkRamp) return c.topk;
  return Math.min(c.topk, Math.max(1, Math.round(c.topkStart * (c.topk / c.topkStart) ** (i / c.topkRamp))));
}

/** The M slot lambdas: log-uniform grid on [lambdaMin, lambdaMax]; a single slot takes lambdaMin. */
export function slotLambdas(c: Pick<EpoConfig, 'population' | 'lambdaMin' | 'lambdaMax'>): number[] {
  if (c.population === 1) return [c.lambdaMin];
  const lo = Math.log(c.lambdaMin);
  const hi = Math.log(c.lambdaMax);
  return Array.from({ length: c.population }, (_, i) => Math.exp(lo + ((hi - lo) * i) / (c.population - 1)));
}

/** The options that determine a run's result, as its history records them: how often it checkpointed does not. */
export function resultConfig(c: EpoConfig): Omit<EpoConfig, 'checkpointEvery'> {
  const { checkpointEvery: _, ...rest } = c;
  return rest;
}
