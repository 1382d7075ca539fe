// Every EPO knob, declared once: its type, default, range and help. The engine's defaults and checks
// (config.ts), the sweep file's methods.epo schema (core/sweep/sections.ts), `dreamsweep epo`'s options
// (cli/epo.ts) and the table in docs/sweep-file.md are all derived from this list; so are the rules that
// tie two knobs together, and EpoConfig's type itself (EpoKnobValues below).
import type { EpoConfig } from './config.js';

/** A knob as the table declares it; `Knob` is the same with its key checked against EpoConfig. */
interface KnobSpec {
  key: string;
  type: 'int' | 'number' | 'bool' | 'text';
  /**
   * Absent: the knob is optional in EpoConfig and off unless given; false or 0 also mean off, and resolveEpoConfig
   * drops them, so a run without the knob records the config it always had.
   */
  default?: number | boolean;
  /** Smallest allowed value (int, number). */
  min?: number;
  /** Largest allowed value (int, number), when there is one. */
  max?: number;
  /** The largest value is the model's vocabulary size, known only when it loads. */
  maxVocab?: true;
  /** The paper's name for it (Table 1), shown in help and docs. */
  symbol?: string;
  /** One line: what it does. The CLI's help, the sweep file's hint and the docs' meaning column. */
  help: string;
  /** Said in errors after the range, e.g. why the minimum is what it is. */
  why?: string;
  /** Set per run rather than in methods.epo (seqLen from study.seqLen, seed from the seeds list). */
  perRun?: true;
  /** `dreamsweep epo` takes it (the initial prompt options have their own parsing there). */
  cli?: false;
}

export interface Knob extends KnobSpec {
  key: keyof EpoConfig;
}

// In this order: EPO_DEFAULTS takes it, and a history records its config as JSON (same keys, same bytes).
const KNOB_TABLE = [
  { key: 'iters', type: 'int', default: 300, min: 1, symbol: 'T', help: 'iterations' },
  { key: 'population', type: 'int', default: 8, min: 1, symbol: 'M', help: 'population slots, each with its own lambda', why: ' (M = 0 leaves nothing to optimise)' },
  { key: 'children', type: 'int', default: 32, min: 1, symbol: 'r', help: 'children per member per iteration' },
  { key: 'topk', type: 'int', default: 512, min: 1, maxVocab: true, symbol: 'k', help: 'candidate tokens per position, by gradient (at most the vocabulary)' },
  { key: 'lambdaMin', type: 'number', default: 0.1, min: 0, help: 'smallest slot lambda: the slot lambdas are log-uniform on [lambdaMin, lambdaMax]' },
  { key: 'lambdaMax', type: 'number', default: 10, min: 0, help: 'largest slot lambda' },
  { key: 'restartEvery', type: 'int', default: 30, min: 0, symbol: 'T_restart', help: 'every this many iterations the population collapses to one prompt; 0 = never' },
  { key: 'restartLambdaMin', type: 'number', default: 0.667, min: 0, help: 'lambda_r is drawn uniformly from [restartLambdaMin, restartLambdaMax] at each restart' },
  { key: 'restartLambdaMax', type: 'number', default: 6.0, min: 0, help: 'upper end of the restart lambda range' },
  { key: 'seqLen', type: 'int', default: 12, min: 2, symbol: 'n', help: 'prompt length in tokens', why: ' (cross-entropy needs at least two tokens)', perRun: true },
  { key: 'seed', type: 'int', default: 0, min: 0, help: 'random seed', perRun: true },
  { key: 'batchSize', type: 'int', default: 256, min: 1, help: 'prompts per engine call (does not change the result)' },
  { key: 'bannedText', type: 'text', help: 'never select a prompt whose decoded text contains this (any case)' },
  { key: 'retokenize', type: 'bool', default: false, help: 'never select a prompt whose decode-then-encode changes its ids' },
  {
    key: 'excludeSpecialTokens',
    type: 'bool',
    help: "never propose special tokens (<|endoftext|>, ...) as mutations; the paper's code lets them in through top-k (random initial prompts never use them)",
  },
  // The paper's proposed improvements (section 6, docs/epo.md): off unless set, recorded only when set.
  {
    key: 'topkStart',
    type: 'int',
    min: 1,
    help: 'top-k schedule: mutations pick among the best topkStart tokens at iteration 0, rising geometrically to topk by iteration topkRamp',
  },
  { key: 'topkRamp', type: 'int', min: 1, help: 'top-k schedule: iterations over which k rises from topkStart to topk' },
  { key: 'twoTokenFraction', type: 'number', min: 0, max: 1, help: 'fraction of children that change two adjacent positions (words made of two tokens)' },
  { key: 'shiftFraction', type: 'number', min: 0, max: 1, help: 'fraction of children that delete one token and insert another elsewhere (the length stays seqLen)' },
  {
    key: 'gradientNeighbours',
    type: 'int',
    min: 0,
    max: 64,
    help: "ARCA-style: average each member's gradient with this many random one-token neighbours' before top-k (each costs a backward pass)",
  },
  { key: 'checkpointEvery', type: 'int', default: 10, min: 0, help: 'iterations between checkpoints; 0 = only at the end' },
] as const satisfies readonly KnobSpec[];

export const EPO_KNOBS: readonly Knob[] = KNOB_TABLE;

type TableKnob = (typeof KNOB_TABLE)[number];
type KnobValue<K extends TableKnob> = K['type'] extends 'bool' ? boolean : K['type'] extends 'text' ? string : number;
/** The knobs' values as EpoConfig holds them: required where the knob has a default, optional where it has none. */
export type EpoKnobValues = { [K in Extract<TableKnob, { default: unknown }> as K['key']]: KnobValue<K> } & {
  [K in Exclude<TableKnob, { default: unknown }> as K['key']]?: KnobValue<K>;
};

/** A rule between knobs: `broken` says what is expected when the values break it, else undefined. */
export interface KnobRule {
  /** The knob the error points at. */
  key: keyof EpoConfig;
  broken(c: EpoConfig): string | undefined;
  /** How to fix it. */
  fix: string;
  /** The rule in words, for the docs. */
  doc: string;
}

export const EPO_RULES: readonly KnobRule[] = [
  {
    key: 'lambdaMin',
    broken: (c) => (c.lambdaMin > c.lambdaMax ? `lambdaMin <= lambdaMax (${c.lambdaMax})` : undefined),
    fix: 'swap them, or lower lambdaMin',
    doc: 'at most lambdaMax',
  },
  {
    key: 'lambdaMin',
    broken: (c) => (c.population > 1 && c.lambdaMin === 0 ? 'lambdaMin > 0 when population > 1' : undefined),
    fix: 'slot lambdas are gridded log-uniformly; use e.g. 0.1, or population: 1 (GCG)',
    doc: 'must be > 0 when population > 1',
  },
  {
    key: 'restartLambdaMin',
    broken: (c) => (c.restartLambdaMin > c.restartLambdaMax ? `restartLambdaMin <= restartLambdaMax (${c.restartLambdaMax})` : undefined),
    fix: 'swap them, or lower restartLambdaMin',
    doc: 'at most restartLambdaMax',
  },
  {
    key: 'topkStart',
    broken: (c) => ((c.topkStart === undefined) !== (c.topkRamp === undefined) ? 'topkStart and topkRamp together' : undefined),
    fix: 'give both (k rises from topkStart to topk by iteration topkRamp), or neither',
    doc: 'with topkRamp',
  },
  {
    key: 'topkStart',
    broken: (c) => (c.topkStart !== undefined && c.topkStart > c.topk ? `topkStart <= topk (${c.topk})` : undefined),
    fix: 'lower topkStart',
    doc: 'at most topk',
  },
  {
    key: 'shiftFraction',
    broken: (c) => ((c.twoTokenFraction ?? 0) + (c.shiftFraction ?? 0) > 1 ? `twoTokenFraction + shiftFraction <= 1 (twoTokenFraction is ${c.twoTokenFraction})` : undefined),
    fix: 'lower one of them',
    doc: 'twoTokenFraction + shiftFraction at most 1',
  },
];

/** `--lambda-min` for lambdaMin. */
export function cliFlag(k: Knob): string {
  return `--${k.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** "an integer >= 1", "a number >= 0", "true or false", "a non-empty string". */
export function knobType(k: Knob, dVocab?: number): string {
  if (k.type === 'bool') return 'true or false';
  if (k.type === 'text') return 'a non-empty string';
  const what = k.type === 'int' ? 'an integer' : 'a number';
  if (k.maxVocab && dVocab !== undefined) return `${what} in [${k.min}, ${dVocab}]`;
  if (k.max !== undefined) return `${what} in [${k.min}, ${k.max}]`;
  return `${what} >= ${k.min}`;
}

/** The knob's row of the docs' methods.epo table (field, type, default, meaning). */
export function knobDocRow(k: Knob): string {
  const range = k.max !== undefined ? ` in [${k.min}, ${k.max}]` : ` >= ${k.min}`;
  const type = k.type === 'bool' ? 'boolean' : k.type === 'text' ? 'non-empty string' : `${k.type === 'int' ? 'integer' : 'number'}${range}`;
  const dflt = k.default === undefined ? (k.type === 'bool' ? '`false`' : 'absent') : `\`${k.default}\``;
  const rules = EPO_RULES.filter((r) => r.key === k.key).map((r) => `; ${r.doc}`);
  const meaning = `${k.symbol ? `${k.symbol}: ` : ''}${k.help}${rules.join('')}`.replace(/\|/g, '\\|');
  return `| \`${k.key}\` | ${type} | ${dflt} | ${meaning} |`;
}

/** The rows of docs/sweep-file.md's methods.epo table for the knobs a sweep file sets (a test keeps them equal). */
export function sweepKnobDocRows(): string[] {
  return EPO_KNOBS.filter((k) => !k.perRun).map(knobDocRow);
}
