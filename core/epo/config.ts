// EPO's knobs, their defaults (the paper's Table 1) and their validation, defined once.
import { UserError } from '../errors.js';

export interface EpoConfig {
  /** T: iterations. */
  iters: number;
  /** M: population slots, each with its own lambda. */
  population: number;
  /** r: children per member per iteration. */
  children: number;
  /** k: candidate tokens per position, by gradient. */
  topk: number;
  /** Slot lambdas are gridded log-uniformly on [lambdaMin, lambdaMax] (as dreamy: exp(linspace(log, log))). */
  lambdaMin: number;
  lambdaMax: number;
  /** T_restart: every this many iterations, counted from iteration 0, the population collapses to one prompt. 0 = never. */
  restartEvery: number;
  /** lambda_r is drawn uniformly from [restartLambdaMin, restartLambdaMax] at each restart. */
  restartLambdaMin: number;
  restartLambdaMax: number;
  /** n: prompt length in tokens. */
  seqLen: number;
  seed: number;
  /** Prompts per engine call. */
  batchSize: number;
  /** Initial prompt (every slot starts from it); random tokens when absent. */
  initIds?: number[];
  initText?: string;
  /** A prompt whose decoded text contains this (case-insensitive) can never be selected. */
  bannedText?: string;
  /** A prompt whose decode-then-encode differs from its ids can never be selected. */
  retokenize: boolean;
  /**
   * Special tokens (`<|endoftext|>`, ...) are never proposed as mutations. Off by default: the paper's code lets them
   * in through top-k. Random initial prompts never use them either way. Recorded only when on.
   */
  excludeSpecialTokens?: boolean;
  /** Checkpoint every K iterations (and at the end); 0 = only at the end. */
  checkpointEvery: number;
}

/** Table 1 of the paper, plus the engineering knobs. */
export const EPO_DEFAULTS: EpoConfig = {
  iters: 300,
  population: 8,
  children: 32,
  topk: 512,
  lambdaMin: 0.1,
  lambdaMax: 10,
  restartEvery: 30,
  restartLambdaMin: 0.667,
  restartLambdaMax: 6.0,
  seqLen: 12,
  seed: 0,
  batchSize: 256,
  retokenize: false,
  checkpointEvery: 10,
};

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
  const int = (name: keyof EpoConfig, min: number, max = Number.MAX_SAFE_INTEGER, hint = '') => {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
      throw new UserError('E_EPO_CONFIG', `EPO option ${name}: expected ${range}, got ${JSON.stringify(v)}${hint}`);
    }
  };
  int('iters', 1);
  int('population', 1, Number.MAX_SAFE_INTEGER, ' (M = 0 leaves nothing to optimise)');
  int('children', 1);
  int('topk', 1, dVocab, ` (the model has ${dVocab} tokens)`);
  int('seqLen', 2, Number.MAX_SAFE_INTEGER, ' (cross-entropy needs at least two tokens)');
  int('batchSize', 1);
  int('restartEvery', 0);
  int('checkpointEvery', 0);
  int('seed', 0);
  const lambdaRange = (lo: keyof EpoConfig, hi: keyof EpoConfig, allowZero: boolean) => {
    const a = c[lo] as number;
    const b = c[hi] as number;
    const ok = (x: number) => Number.isFinite(x) && (allowZero ? x >= 0 : x > 0);
    if (!ok(a) || !ok(b) || a > b) {
      throw new UserError(
        'E_EPO_CONFIG',
        `EPO options ${lo}/${hi}: expected ${allowZero ? '0 <=' : '0 <'} ${lo} <= ${hi}, got ${a} and ${b}`,
      );
    }
  };
  lambdaRange('lambdaMin', 'lambdaMax', true);
  if (c.population > 1 && c.lambdaMin === 0) {
    throw new UserError('E_EPO_CONFIG', 'EPO option lambdaMin: lambdas are gridded log-uniformly, so with population > 1 lambdaMin must be > 0');
  }
  lambdaRange('restartLambdaMin', 'restartLambdaMax', true);
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
  if (c.excludeSpecialTokens === false) delete c.excludeSpecialTokens; // off is the default: not recorded
  if (c.bannedText !== undefined && c.bannedText.length === 0) {
    throw new UserError('E_EPO_CONFIG', 'EPO option bannedText: an empty string would ban every prompt; omit it instead');
  }
  return c;
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
