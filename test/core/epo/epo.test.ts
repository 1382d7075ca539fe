// EPO's mechanics on a deterministic engine double: selection with replacement, restarts, gradient
// reuse, GCG, banned text, determinism and resume from any checkpoint.
import { describe, expect, it } from 'vitest';
import type { Objective } from '../../../core/engine.js';
import { gcg, resolveEpoConfig, slotLambdas, topkAt } from '../../../core/epo/config.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../../core/epo/checkpoint.js';
import { epo } from '../../../core/epo/epo.js';
import { paretoFrontier } from '../../../core/epo/frontier.js';
import { encodeHistory, decodeHistory, type History } from '../../../core/epo/history.js';
import { isUserError } from '../../../core/errors.js';
import { fakeEngine } from '../../helpers/fake-engine.js';

const objective: Objective = { kind: 'neuron', layer: 0, index: 0 };
const small = { iters: 12, population: 4, children: 6, topk: 5, seqLen: 5, restartEvery: 5, batchSize: 7, seed: 3 };

function bytes(h: History): Buffer {
  return Buffer.from(encodeHistory(h, {}));
}

describe('epo selection', () => {
  it('lets each slot take the argmax of f - lambda_i * CE over parents and children, with replacement', async () => {
    const engine = fakeEngine({ vocab: 40, seqLen: 5 });
    const { history } = await epo(engine, objective, { ...small, restartEvery: 0 });
    const lambdas = slotLambdas({ population: 4, lambdaMin: 0.1, lambdaMax: 10 });
    let shared = 0;
    for (const it of history.iterations) {
      expect(it.f.length).toBe(4 * (1 + 6));
      lambdas.forEach((lambda, s) => {
        let best = -1;
        let bestScore = -Infinity;
        for (let r = 0; r < it.f.length; r++) {
          const score = it.f[r]! - lambda * it.ce[r]!;
          if (score > bestScore) [best, bestScore] = [r, score];
        }
        expect(it.keep[s]).toBe(best);
      });
      if (new Set(it.keep).size < 4) shared++;
    }
    // With replacement, one prompt can fill several slots.
    expect(shared).toBeGreaterThan(0);
  });

  it('fills every slot with one prompt when CE is flat (all lambdas agree)', async () => {
    const engine = fakeEngine({ vocab: 30, seqLen: 4, costScale: 0 });
    const { history } = await epo(engine, objective, { ...small, seqLen: 4, iters: 3, restartEvery: 0 });
    for (const it of history.iterations) expect(new Set(it.keep).size).toBe(1);
  });

  it('grids the slot lambdas log-uniformly between lambdaMin and lambdaMax', () => {
    const l = slotLambdas({ population: 3, lambdaMin: 0.1, lambdaMax: 10 });
    expect(l[0]).toBeCloseTo(0.1, 12);
    expect(l[1]).toBeCloseTo(1, 12);
    expect(l[2]).toBeCloseTo(10, 12);
  });
});

describe('epo restarts', () => {
  it('collapses the population to one prompt every T_restart iterations from iteration 0, then regrows', async () => {
    const engine = fakeEngine({ vocab: 40, seqLen: 5 });
    const { history } = await epo(engine, objective, { ...small, iters: 11 });
    history.iterations.forEach((it, i) => {
      if (i % 5 === 0) {
        expect(Number.isNaN(it.restartLambda)).toBe(false);
        expect(it.restartLambda).toBeGreaterThanOrEqual(0.667);
        expect(it.restartLambda).toBeLessThanOrEqual(6);
        expect(new Set(it.keep).size).toBe(1);
      } else expect(Number.isNaN(it.restartLambda)).toBe(true);
    });
    // After a restart the slots diverge again.
    const distinct = (it: (typeof history.iterations)[number]) => new Set(Array.from(it.keep, (r) => Array.from(it.ids.subarray(r * 5, r * 5 + 5)).join(','))).size;
    expect(Math.max(...[1, 2, 3, 4].map((i) => distinct(history.iterations[i]!)))).toBeGreaterThan(1);
  });
});

describe('epo gradients', () => {
  it('runs a backward pass only for slots whose member changed', async () => {
    const engine = fakeEngine({ vocab: 40, seqLen: 5 });
    const { history } = await epo(engine, objective, { ...small, iters: 10 });
    // Parents of iteration i (rows 0..M-1) are the slot members it starts with. Every slot needs a
    // gradient at iteration 0; afterwards only slots whose member differs from the previous iteration's.
    const member = (i: number, s: number) => Array.from(history.iterations[i]!.ids.subarray(s * 5, s * 5 + 5)).join(',');
    let expected = 4;
    for (let i = 1; i < history.iterations.length; i++) {
      for (let s = 0; s < 4; s++) if (member(i, s) !== member(i - 1, s)) expected++;
    }
    expect(expected).toBeLessThan(4 * 10);
    expect(engine.calls.backward).toBe(expected);
  });

  it("makes gcg() the M = 1, lambda = 0 configuration with all of EPO's candidates for its one member", async () => {
    expect(gcg({ iters: 5 })).toEqual({ iters: 5, population: 1, children: 256, lambdaMin: 0, lambdaMax: 0 });
    expect(gcg({ children: 9 }).children).toBe(9);
    const a = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, gcg({ ...small, iters: 6 }));
    const b = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, { ...small, iters: 6, population: 1, lambdaMin: 0, lambdaMax: 0 });
    expect(bytes(a.history).equals(bytes(b.history))).toBe(true);
    // lambda = 0: the kept prompt is the best f seen, never worse than its parent.
    const f = a.history.iterations.map((it) => it.f[it.keep[0]!]!);
    for (let i = 1; i < f.length; i++) expect(f[i]).toBeGreaterThanOrEqual(f[i - 1]!);
  });
});

describe('epo initial prompt and special tokens', () => {
  it('refuses an initial text that encodes to another length than seqLen, naming both and the fix', async () => {
    const engine = fakeEngine({ vocab: 30, seqLen: 5 });
    const err = await epo(engine, objective, { ...small, initText: 'w3 w4 w5' }).catch((e: unknown) => e);
    expect(isUserError(err)).toBe(true);
    expect((err as Error).message).toMatch(/encodes to 3 tokens but seqLen is 5.*--seq-len 3/);
    const ok = await epo(engine, objective, { ...small, iters: 1, initText: 'w3 w4 w5 w6 w7' });
    expect(Array.from(ok.history.iterations[0]!.ids.subarray(0, 5))).toEqual([3, 4, 5, 6, 7]);
  });

  it('proposes special tokens through top-k by default and never with excludeSpecialTokens', async () => {
    // Token 0 is the fake tokenizer's special token; make it the best token at every position.
    const plant = (e: ReturnType<typeof fakeEngine>) => e.W.forEach((row) => (row[0] = 10));
    const uses0 = async (excludeSpecialTokens: boolean) => {
      const e = fakeEngine({ vocab: 30, seqLen: 4 });
      plant(e);
      const { history } = await epo(e, objective, { ...small, seqLen: 4, iters: 4, excludeSpecialTokens });
      return history.iterations.some((it) => Array.from(it.ids).includes(0));
    };
    expect(await uses0(false)).toBe(true);
    expect(await uses0(true)).toBe(false);
  });
});

describe('epo validity', () => {
  it('never selects a prompt whose text contains the banned text, case-insensitively', async () => {
    // Token 7 decodes to "HotDOGs" and is the best token at every position: without the ban EPO takes it.
    const words = { 7: 'HotDOGs' };
    const plant = (e: ReturnType<typeof fakeEngine>) => e.W.forEach((row) => (row[7] = 10));
    const free = fakeEngine({ vocab: 30, seqLen: 4, words });
    plant(free);
    const unbanned = await epo(free, objective, { ...small, seqLen: 4, iters: 6 });
    const last = unbanned.state.population.map((m) => m.ids);
    expect(last.some((ids) => ids.includes(7))).toBe(true);

    const banned = fakeEngine({ vocab: 30, seqLen: 4, words });
    plant(banned);
    const { history } = await epo(banned, objective, { ...small, seqLen: 4, iters: 6, bannedText: 'dog' });
    for (const it of history.iterations) {
      for (const r of it.keep) {
        if (it.valid[r]) expect(Array.from(it.ids.subarray(r * 4, r * 4 + 4))).not.toContain(7);
      }
    }
  });
});

describe('epo determinism and resume', () => {
  it('gives byte-identical histories for identical inputs', async () => {
    const a = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, small);
    const b = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, small);
    expect(bytes(a.history).equals(bytes(b.history))).toBe(true);
    const c = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, { ...small, seed: 4 });
    expect(bytes(a.history).equals(bytes(c.history))).toBe(false);
  });

  it('continues from every checkpoint to the same history as the uninterrupted run', async () => {
    const checkpoints: Uint8Array[] = [];
    const full = await epo(
      fakeEngine({ vocab: 40, seqLen: 5 }),
      objective,
      { ...small, checkpointEvery: 3 },
      {
        onCheckpoint: (s) => void checkpoints.push(encodeCheckpoint(s, { objective })),
      },
    );
    expect(checkpoints.length).toBe(4); // iterations 3, 6, 9 and the end (12)
    for (const ck of checkpoints.slice(0, 3)) {
      const { state, info } = decodeCheckpoint(ck, 'checkpoint');
      expect(info).toEqual({ objective });
      const engine = fakeEngine({ vocab: 40, seqLen: 5 });
      const resumed = await epo(engine, objective, { ...small, checkpointEvery: 3 }, { resume: state });
      expect(bytes(resumed.history).equals(bytes(full.history))).toBe(true);
    }
  });

  it('extends a finished run to more iterations exactly as a longer run would', async () => {
    const short = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, { ...small, iters: 7 });
    const state = decodeCheckpoint(encodeCheckpoint(short.state), 'ck').state;
    const extended = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, { ...small, iters: 12 }, { resume: state });
    const long = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, { ...small, iters: 12 });
    expect(bytes(extended.history).equals(bytes(long.history))).toBe(true);
  });

  it('refuses to resume with different options', async () => {
    const run = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, { ...small, iters: 2 });
    await expect(epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, { ...small, topk: 6 }, { resume: run.state })).rejects.toMatchObject({
      code: 'E_EPO_RESUME',
    });
  });

  it('reports the population frontier size in progress events', async () => {
    const sizes: number[] = [];
    await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, small, { onProgress: (p) => void sizes.push(p.nonDominated) });
    for (const s of sizes) expect(s).toBeGreaterThanOrEqual(1);
    // Right after a restart every slot holds one prompt: a frontier of one.
    expect(sizes[0]).toBe(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
  });

  it('stops early when the progress callback says stop', async () => {
    const seen: number[] = [];
    const run = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, small, {
      onProgress: (p) => (seen.push(p.iteration), p.iteration === 4 ? 'stop' : 'continue'),
    });
    expect(run.stopped).toBe(true);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(run.history.iterations.length).toBe(4);
  });
});

describe('epo history and frontier', () => {
  it('round-trips the history file and its info', async () => {
    const run = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, small);
    const encoded = encodeHistory(run.history, { objective });
    const { history, info } = decodeHistory(encoded, 'history.safetensors');
    expect(info).toEqual({ objective });
    expect(bytes(history).equals(bytes(run.history))).toBe(true);
  });

  it('builds a frontier whose points trade f against CE monotonically', async () => {
    const engine = fakeEngine({ vocab: 40, seqLen: 5 });
    const run = await epo(engine, objective, { ...small, iters: 20 });
    const points = paretoFrontier([run.history], engine.tokenizer.decode);
    expect(points.length).toBeGreaterThan(1);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.f).toBeLessThanOrEqual(points[i - 1]!.f);
      expect(points[i]!.ce).toBeLessThan(points[i - 1]!.ce);
    }
    // lambda = 0 point is the best f anywhere in the history.
    const flat = run.history.flat();
    expect(points[0]!.f).toBe(Math.max(...flat.f));
  });
});

describe('epo options', () => {
  const engine = fakeEngine({ vocab: 40, seqLen: 5 });
  const cases: Array<[string, object]> = [
    ['population 0', { population: 0 }],
    ['topk above the vocabulary', { topk: 41 }],
    ['a one-token prompt', { seqLen: 1 }],
    ['lambdaMin above lambdaMax', { lambdaMin: 5, lambdaMax: 1 }],
    ['initIds of the wrong length', { initIds: [1, 2] }],
    ['an empty banned text', { bannedText: '' }],
  ];
  for (const [what, bad] of cases) {
    it(`rejects ${what} with a user error naming the option`, async () => {
      const err = await epo(engine, objective, { ...small, ...bad }).catch((e) => e);
      expect(isUserError(err)).toBe(true);
      expect(err.code).toBe('E_EPO_CONFIG');
      expect(err.message).toMatch(new RegExp(Object.keys(bad)[0]!));
    });
  }
});

describe('epo options from the paper section 6', () => {
  const all = { ...small, topkStart: 2, topkRamp: 6, twoTokenFraction: 0.3, shiftFraction: 0.3, gradientNeighbours: 2 };
  const rowsOf = (it: History['iterations'][number], n: number) => Array.from({ length: it.f.length }, (_, r) => Array.from(it.ids.subarray(r * n, (r + 1) * n)));

  it.each([
    ['topk schedule', { topkStart: 2, topkRamp: 6 }],
    ['two-token mutations', { twoTokenFraction: 0.5 }],
    ['shift mutations', { shiftFraction: 0.5 }],
    ['neighbour-averaged gradients', { gradientNeighbours: 3 }],
    ['all of them', all],
  ] as const)('resumes byte-identically from every checkpoint with %s', async (_name, options) => {
    const cfg = { ...small, ...options, checkpointEvery: 4 };
    const checkpoints: Uint8Array[] = [];
    const full = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, cfg, { onCheckpoint: (s) => void checkpoints.push(encodeCheckpoint(s)) });
    for (const ck of checkpoints.slice(0, -1)) {
      const resumed = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, cfg, { resume: decodeCheckpoint(ck, 'ck').state });
      expect(bytes(resumed.history).equals(bytes(full.history))).toBe(true);
    }
    expect(decodeHistory(bytes(full.history), 'h').history.iterations[3]!.mutation).toEqual(full.history.iterations[3]!.mutation);
  });

  it('records how each child was made, and each kind changes what it says', async () => {
    const { history } = await epo(fakeEngine({ vocab: 40, seqLen: 5 }), objective, { ...small, restartEvery: 0, twoTokenFraction: 0.4, shiftFraction: 0.4 });
    const seen = new Set<number>();
    for (const it of history.iterations) {
      const rows = rowsOf(it, 5);
      const m = it.mutation!;
      for (let r = 0; r < 4; r++) expect(m[r]).toBe(0);
      for (let r = 4; r < rows.length; r++) {
        const parent = rows[(r - 4) % 4]!;
        const child = rows[r]!;
        const changed = child.map((t, p) => (t !== parent[p] ? p : -1)).filter((p) => p >= 0);
        seen.add(m[r]!);
        if (m[r] === 1) expect(changed.length).toBeLessThanOrEqual(1);
        if (m[r] === 2) expect(changed.length <= 1 || (changed.length === 2 && changed[1]! - changed[0]! === 1)).toBe(true);
        if (m[r] === 3) {
          // Some deletion and insertion turns the parent into the child.
          const ok = parent.some((_, del) => {
            const rest = parent.filter((_, p) => p !== del);
            return child.some((_, at) => [...rest.slice(0, at), child[at]!, ...rest.slice(at)].every((t, p) => t === child[p]));
          });
          expect(ok).toBe(true);
        }
      }
    }
    expect([...seen].sort()).toEqual([1, 2, 3]);
  });

  it('picks among the first k(i) candidates, k rising geometrically from topkStart to topk by topkRamp', async () => {
    expect([0, 3, 6, 9].map((i) => topkAt({ topk: 64, topkStart: 4, topkRamp: 6 }, i))).toEqual([4, 16, 64, 64]);
    expect(topkAt({ topk: 64 }, 0)).toBe(64);
    const engine = fakeEngine({ vocab: 40, seqLen: 5 });
    const { history } = await epo(engine, objective, { ...small, topk: 10, topkStart: 1, topkRamp: 100, restartEvery: 0, iters: 3 });
    // k(0) = 1: every child of iteration 0 takes its position's best candidate (of W[p] - lambda*cost/(n-1)).
    const it = history.iterations[0]!;
    const rows = rowsOf(it, 5);
    const lambdas = slotLambdas({ population: 4, lambdaMin: 0.1, lambdaMax: 10 });
    for (let r = 4; r < rows.length; r++) {
      const parent = rows[(r - 4) % 4]!;
      rows[r]!.forEach((t, p) => {
        if (t === parent[p]) return;
        const g = (v: number) => engine.W[p]![v]! - (p >= 1 ? (lambdas[(r - 4) % 4]! * engine.cost[v]!) / 4 : 0);
        const best = Array.from({ length: 40 }, (_, v) => v).sort((a, b) => g(b) - g(a) || a - b)[0];
        expect(t).toBe(best);
      });
    }
  });

  it('refuses options that do not fit', () => {
    for (const bad of [{ topkStart: 4 }, { topkStart: 600, topkRamp: 3 }, { twoTokenFraction: 0.7, shiftFraction: 0.5 }, { gradientNeighbours: -1 }]) {
      expect(() => resolveEpoConfig(bad, 1000), JSON.stringify(bad)).toThrow(/EPO option/);
    }
  });
});
