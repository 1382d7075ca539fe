// EPO, evolutionary prompt optimisation (Fluent Dreaming for Language Models, section 2; docs/epo.md;
// docs/sweep-file.md lists its knobs). One public `epo()` whose loop reads in numbered stages; helpers below the divider.
import type { Engine, Objective } from '../engine.js';
import { UserError } from '../errors.js';
import { Rng } from '../rng.js';
import { resolveEpoConfig, slotLambdas, topkAt, type EpoConfig } from './config.js';
import { History, type IterationRecord } from './history.js';
import { validityMask } from './validity.js';
import { defaultAllowed, regularMask, regularVocabulary } from '../model/vocabulary.js';

/** Reported after every iteration; the CLI draws it, an activity heartbeats it. */
export interface EpoProgress {
  iteration: number; // iterations completed so far
  iters: number;
  /** f of each slot's member after this iteration. */
  slotF: number[];
  slotCe: number[];
  restarted: boolean;
  /**
   * Distinct prompts in the population that no other member beats on both f and CE (its Pareto set). Not
   * the frontier, which is the lambda-grid winners over the whole history (frontier.ts, frontier.json).
   */
  nonDominated: number;
  /** Engine calls so far in this process (not in the history: it differs after a resume). */
  evaluated: number;
  backward: number;
  itersPerSecond: number;
}

/** Everything needed to continue a run exactly: a checkpoint is this, serialised (checkpoint.ts). */
export interface EpoState {
  config: EpoConfig;
  /** Next iteration to run (= iterations completed). */
  iteration: number;
  rng: number[];
  population: Member[];
  history: History;
}

export interface Member {
  ids: number[];
  f: number;
  ce: number;
  valid: boolean;
  /** Top-k tokens per position by the gradient of this slot's L_lambda, flat [n, k]; null until computed. */
  topk: Int32Array | null;
}

export interface EpoOptions {
  /** Continue from this state (a checkpoint) instead of starting afresh. */
  resume?: EpoState;
  /** Called after each iteration; return 'stop' to end the run early (the state is still returned). */
  onProgress?: (p: EpoProgress) => 'continue' | 'stop' | void;
  /** Called every `checkpointEvery` iterations and at the end, awaited before the run goes on. */
  onCheckpoint?: (state: EpoState) => Promise<void> | void;
}

export interface EpoResult {
  state: EpoState;
  history: History;
  stopped: boolean;
}

export async function epo(engine: Engine, objective: Objective, partialConfig: Partial<EpoConfig>, options: EpoOptions = {}): Promise<EpoResult> {
  const cfg = resolveEpoConfig(partialConfig, engine.shape.dVocab);
  const lambdas = slotLambdas(cfg);
  const M = cfg.population;
  const n = cfg.seqLen;
  const isValid = validityMask(engine.tokenizer, cfg);
  const allowed = cfg.excludeSpecialTokens ? regularMask(engine) : undefined;
  const counters = { evaluated: 0, backward: 0 };

  // 1) Start: a fresh random (or given) population, or the state a checkpoint left.
  const state = options.resume ? adoptResumed(options.resume, cfg) : await freshState(engine, objective, cfg, lambdas, isValid, counters);
  const rng = Rng.fromState(state.rng);
  const started = Date.now();
  const startIteration = state.iteration;
  let stopped = false;

  while (state.iteration < cfg.iters) {
    const i = state.iteration;
    const pop = state.population;

    // 2) Gradients of each slot's L_lambda_i w.r.t. its one-hot tokens, only for members that lack them.
    const needGrad = pop.map((m, s) => (m.topk ? -1 : s)).filter((s) => s >= 0);
    if (cfg.gradientNeighbours) {
      await neighbourAveragedTopk(engine, objective, cfg, pop, needGrad, lambdas, rng, allowed, counters);
    } else {
      for (const batch of chunks(needGrad, cfg.batchSize)) {
        const g = await engine.gradients(
          batch.map((s) => pop[s]!.ids),
          batch.map((s) => lambdas[s]!),
          objective,
          cfg.topk,
          { allowed },
        );
        counters.backward += batch.length;
        batch.forEach((s, b) => {
          pop[s]!.topk = g.topk.slice(b * n * cfg.topk, (b + 1) * n * cfg.topk);
        });
      }
    }

    // 3) Children: child c copies member c mod M and sets one uniform position to a uniform top-k token (or, with
    // the mutation options, two adjacent positions, or deletes one token and inserts another elsewhere).
    const children: Child[] = [];
    const kNow = topkAt(cfg, i);
    for (let c = 0; c < M * cfg.children; c++) {
      children.push(mutate(pop[c % M]!, c % M, n, cfg, kNow, rng));
    }

    // 4) Evaluate f and CE of every distinct new prompt (a child equal to a parent or an earlier child reuses its
    // values); the engine may reuse each parent's activations before the changed position.
    const rows = await evaluateCandidates(engine, objective, cfg.batchSize, pop, children, isValid, counters);

    // 5) Selection with replacement: slot s takes the argmax of f - lambda_s * CE over parents and children.
    let keep = lambdas.map((lambda, s) => argmaxScore(rows, lambda, s));
    // 6) Restart every T_restart iterations, counted from iteration 0: every slot takes the argmax at lambda_r.
    let restartLambda = Number.NaN;
    if (cfg.restartEvery > 0 && i % cfg.restartEvery === 0) {
      restartLambda = rng.uniform(cfg.restartLambdaMin, cfg.restartLambdaMax);
      const winner = argmaxScore(rows, restartLambda, 0);
      keep = keep.map(() => winner);
    }
    const mutations = mutationsOn(cfg) ? children.map((c) => c.kind) : undefined;
    state.history.push(toRecord(rows, n, keep, restartLambda, M, mutations));

    // 7) The new population. A slot whose member is unchanged keeps its gradients.
    state.population = keep.map((row, s) => {
      const old = pop[s]!;
      const ids = rows.ids[row]!;
      const same = sameIds(ids, old.ids);
      return { ids, f: rows.f[row]!, ce: rows.ce[row]!, valid: rows.valid[row]!, topk: same ? old.topk : null };
    });
    state.iteration = i + 1;
    state.rng = rng.state();

    // 8) Report and checkpoint.
    const elapsed = (Date.now() - started) / 1000;
    const reply = options.onProgress?.({
      iteration: state.iteration,
      iters: cfg.iters,
      slotF: state.population.map((m) => m.f),
      slotCe: state.population.map((m) => m.ce),
      restarted: !Number.isNaN(restartLambda),
      nonDominated: nonDominatedCount(state.population),
      evaluated: counters.evaluated,
      backward: counters.backward,
      itersPerSecond: elapsed > 0 ? (state.iteration - startIteration) / elapsed : 0,
    });
    const last = state.iteration === cfg.iters || reply === 'stop';
    if (options.onCheckpoint && (last || (cfg.checkpointEvery > 0 && state.iteration % cfg.checkpointEvery === 0))) {
      await options.onCheckpoint(state);
    }
    if (reply === 'stop') {
      stopped = true;
      break;
    }
  }
  return { state, history: state.history, stopped };
}

// ---------------------------------------------------------------------------------------------------
// Helpers

/** How a child was made, as the history's `mutation` column records it (0 is a parent row). */
export const MUTATION = { single: 1, twoToken: 2, shift: 3 } as const;

interface Child {
  ids: number[];
  /** Slot of the member it was copied from, and the first position it changed (it equals its parent before). */
  parent: number;
  pos: number;
  kind: number;
}

/**
 * The mutations besides the paper's single substitution, each made for its knob's fraction of the children: a new
 * one is a row here (and its knob in knobs.ts), and the draw, the choice and the history's column follow.
 */
const MUTATIONS: ReadonlyArray<{
  kind: number;
  fraction: Extract<keyof EpoConfig, `${string}Fraction`>;
  /** The child's ids and the first position it changed; `candidate(p)` draws a top-k token for position p. */
  apply(ids: number[], n: number, candidate: (p: number) => number, rng: Rng): { ids: number[]; pos: number };
}> = [
  {
    kind: MUTATION.twoToken,
    fraction: 'twoTokenFraction',
    apply(parent, n, candidate, rng) {
      const pos = rng.int(n - 1);
      const ids = parent.slice();
      ids[pos] = candidate(pos);
      ids[pos + 1] = candidate(pos + 1);
      return { ids, pos };
    },
  },
  {
    kind: MUTATION.shift,
    fraction: 'shiftFraction',
    apply(parent, n, candidate, rng) {
      const del = rng.int(n);
      const at = rng.int(n);
      const ids = parent.filter((_, p) => p !== del);
      ids.splice(at, 0, candidate(at)); // the inserted token: a top-k candidate for the position it lands at
      return { ids, pos: Math.min(del, at) };
    },
  },
];

/** Whether any mutation option is on: only then does a child draw its kind, and the history record it. */
function mutationsOn(cfg: EpoConfig): boolean {
  return MUTATIONS.some((m) => cfg[m.fraction]);
}

/** One child of `member`: the paper's single substitution, or one of MUTATIONS when enabled. */
function mutate(member: Member, slot: number, n: number, cfg: EpoConfig, k: number, rng: Rng): Child {
  const K = cfg.topk;
  const candidate = (p: number) => member.topk![p * K + rng.int(k)]!;
  // The draw is made only when an option is on, so the paper's algorithm consumes the generator as it always did.
  const u = mutationsOn(cfg) ? rng.float() : 1;
  let upTo = 0;
  for (const m of MUTATIONS) {
    upTo += cfg[m.fraction] ?? 0;
    if (u < upTo) return { ...m.apply(member.ids, n, candidate, rng), parent: slot, kind: m.kind };
  }
  const pos = rng.int(n);
  const ids = member.ids.slice();
  ids[pos] = candidate(pos);
  return { ids, parent: slot, pos, kind: MUTATION.single };
}

/**
 * ARCA-style gradients: each member's gradient averaged with `gradientNeighbours` random one-token neighbours'
 * (a uniform position set to a uniform regular token), then top-k on the host, over the tokens the engine would
 * allow. Uses full gradients, so any engine serves it; costs (1 + neighbours) backward passes per member.
 */
async function neighbourAveragedTopk(
  engine: Engine,
  objective: Objective,
  cfg: EpoConfig,
  pop: Member[],
  slots: number[],
  lambdas: number[],
  rng: Rng,
  allowed: Uint8Array | undefined,
  counters: { backward: number },
): Promise<void> {
  const n = cfg.seqLen;
  const V = engine.shape.dVocab;
  const vocab = regularVocabulary(engine);
  const mask = allowed ?? defaultAllowed(V, engine.tokenizer.vocabSize);
  const group = 1 + cfg.gradientNeighbours!;
  for (const s of slots) {
    const rows = [pop[s]!.ids];
    for (let j = 1; j < group; j++) {
      const ids = pop[s]!.ids.slice();
      ids[rng.int(n)] = vocab[rng.int(vocab.length)]!;
      rows.push(ids);
    }
    const sum = new Float64Array(n * V);
    for (const batch of chunks(rows, cfg.batchSize)) {
      const g = await engine.gradients(
        batch,
        batch.map(() => lambdas[s]!),
        objective,
        1,
        { full: true, allowed: mask },
      );
      counters.backward += batch.length;
      for (let b = 0; b < batch.length; b++) for (let x = 0; x < n * V; x++) sum[x] = sum[x]! + g.grads![b * n * V + x]!;
    }
    const topk = new Int32Array(n * cfg.topk);
    for (let p = 0; p < n; p++) topk.set(topIndices(sum.subarray(p * V, (p + 1) * V), mask, cfg.topk), p * cfg.topk);
    pop[s]!.topk = topk;
  }
}

/** The k allowed indices of the largest values, descending; ties to the lower index. */
function topIndices(values: Float64Array, allowed: Uint8Array, k: number): number[] {
  const idx: number[] = [];
  for (let v = 0; v < values.length; v++) if (allowed[v]) idx.push(v);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, k);
}

interface Rows {
  ids: number[][];
  f: number[];
  ce: number[];
  valid: boolean[];
}

async function freshState(
  engine: Engine,
  objective: Objective,
  cfg: EpoConfig,
  lambdas: number[],
  isValid: (ids: number[]) => boolean,
  counters: { evaluated: number },
): Promise<EpoState> {
  const rng = Rng.seeded(cfg.seed);
  let initial: number[][];
  if (cfg.initIds) initial = lambdas.map(() => cfg.initIds!.slice());
  else if (cfg.initText !== undefined) initial = lambdas.map(() => initTextIds(engine, cfg.initText!, cfg.seqLen));
  else {
    const vocab = regularVocabulary(engine);
    initial = lambdas.map(() => Array.from({ length: cfg.seqLen }, () => vocab[rng.int(vocab.length)]!));
  }
  const population: Member[] = [];
  for (const batch of chunks(initial, cfg.batchSize)) {
    const e = await engine.evaluate(batch, objective);
    counters.evaluated += batch.length;
    batch.forEach((ids, b) => population.push({ ids, f: e.f[b]!, ce: e.ce[b]!, valid: isValid(ids), topk: null }));
  }
  return { config: cfg, iteration: 0, rng: rng.state(), population, history: new History(cfg.seqLen, lambdas) };
}

function adoptResumed(resume: EpoState, cfg: EpoConfig): EpoState {
  // Every knob but the iteration count must match: anything else would make a different run.
  const { iters: _a, checkpointEvery: _b, ...want } = cfg;
  const { iters: _c, checkpointEvery: _d, ...have } = resume.config;
  if (JSON.stringify(want) !== JSON.stringify(have)) {
    const diff = Object.keys(want).filter((k) => JSON.stringify((want as Record<string, unknown>)[k]) !== JSON.stringify((have as Record<string, unknown>)[k]));
    throw new UserError('E_EPO_RESUME', `resume: the checkpoint was made with different EPO options (${diff.join(', ')}); resume with the same options`);
  }
  return { ...resume, config: cfg, population: resume.population.map((m) => ({ ...m, ids: m.ids.slice() })) };
}

/** The initial text's tokens, which must number n exactly: the paper's code refuses a wrong-length start too. */
function initTextIds(engine: Engine, text: string, n: number): number[] {
  const ids = engine.tokenizer.encode(text);
  if (ids.length !== n) {
    throw new UserError(
      'E_EPO_CONFIG',
      `EPO option initText: ${JSON.stringify(text)} encodes to ${ids.length} tokens but seqLen is ${n}; ` +
        `set seqLen to ${ids.length} (--seq-len ${ids.length}), or give a text of ${n} tokens`,
    );
  }
  return ids;
}

async function evaluateCandidates(
  engine: Engine,
  objective: Objective,
  batchSize: number,
  pop: Member[],
  children: Child[],
  isValid: (ids: number[]) => boolean,
  counters: { evaluated: number },
): Promise<Rows> {
  const rows: Rows = {
    ids: pop.map((m) => m.ids),
    f: pop.map((m) => m.f),
    ce: pop.map((m) => m.ce),
    valid: pop.map((m) => m.valid),
  };
  const known = new Map<string, number>(); // prompt -> row holding its values
  rows.ids.forEach((ids, r) => known.set(ids.join(','), r));
  const pending: number[] = []; // rows still to evaluate
  const copies: Array<[number, number]> = []; // [row, row it copies]
  const childOf = new Map<number, Child>(); // pending row -> the child it is
  for (const child of children) {
    const { ids } = child;
    const row = rows.ids.length;
    rows.ids.push(ids);
    rows.f.push(Number.NaN);
    rows.ce.push(Number.NaN);
    rows.valid.push(false);
    const key = ids.join(',');
    const from = known.get(key);
    if (from !== undefined) copies.push([row, from]);
    else {
      known.set(key, row);
      pending.push(row);
      childOf.set(row, child);
    }
  }
  const parents = pop.map((m) => m.ids);
  for (const batch of chunks(pending, batchSize)) {
    const prefix = { parents, parentOf: batch.map((r) => childOf.get(r)!.parent), from: batch.map((r) => childOf.get(r)!.pos) };
    const e = await engine.evaluate(
      batch.map((r) => rows.ids[r]!),
      objective,
      { prefix },
    );
    counters.evaluated += batch.length;
    batch.forEach((r, b) => {
      rows.f[r] = e.f[b]!;
      rows.ce[r] = e.ce[b]!;
      rows.valid[r] = isValid(rows.ids[r]!);
    });
  }
  for (const [row, from] of copies) {
    rows.f[row] = rows.f[from]!;
    rows.ce[row] = rows.ce[from]!;
    rows.valid[row] = rows.valid[from]!;
  }
  return rows;
}

/** Row maximising f - lambda * CE among valid rows; ties go to the earliest row; none valid: `fallback`. */
function argmaxScore(rows: Rows, lambda: number, fallback: number): number {
  let best = fallback;
  let bestScore = -Infinity;
  for (let r = 0; r < rows.f.length; r++) {
    if (!rows.valid[r]) continue;
    // f32 values, f64 arithmetic: identical on every machine for identical inputs.
    const score = rows.f[r]! - lambda * rows.ce[r]!;
    if (score > bestScore) {
      bestScore = score;
      best = r;
    }
  }
  return best;
}

function toRecord(rows: Rows, n: number, keep: number[], restartLambda: number, M: number, mutations?: number[]): IterationRecord {
  const R = rows.f.length;
  const ids = new Int32Array(R * n);
  rows.ids.forEach((p, r) => ids.set(p, r * n));
  return {
    ids,
    f: Float32Array.from(rows.f),
    ce: Float32Array.from(rows.ce),
    valid: Uint8Array.from(rows.valid, (v) => (v ? 1 : 0)),
    keep: Int32Array.from(keep),
    restartLambda,
    ...(mutations ? { mutation: Uint8Array.from([...new Array<number>(M).fill(0), ...mutations]) } : {}),
  };
}

function nonDominatedCount(pop: Member[]): number {
  const distinct = [...new Map(pop.filter((m) => m.valid).map((m) => [m.ids.join(','), m])).values()];
  return distinct.filter((m) => !distinct.some((o) => o !== m && o.f >= m.f && o.ce <= m.ce && (o.f > m.f || o.ce < m.ce))).length;
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
