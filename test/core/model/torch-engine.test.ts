// The torch engine (engines/torch behind core/model/torch-engine.ts) on the CPU in float32, against the
// transformers golden numbers and the wasm engine: logits, CE, taps, f and the one-hot gradient within 1e-4,
// the prefix-reuse hint within 1e-5 of computing in full, EPO's choices, resume, and the process's failures.
// Needs the engine's Python (`npm run engines:torch`, or DREAMSWEEP_TORCH_PYTHON): skipped without it, except
// under CI=true, where its absence fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Objective, PrefixHint } from '../../../core/engine.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../../core/epo/checkpoint.js';
import { epo } from '../../../core/epo/epo.js';
import { encodeHistory } from '../../../core/epo/history.js';
import { tapNames } from '../../../core/model/taps.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { TorchEngine } from '../../../core/model/torch-engine.js';
import { TorchEngineError } from '../../../core/model/torch-process.js';
import { TORCH_INSTALL_HINT, torchPythonAvailable } from '../../../core/model/torch-env.js';
import { FIXTURE_NAMES, MODELS, expectSameEpoChoices, flat, readGolden, scaledMaxDiff, toObjective } from './helpers.js';

const TOL = 1e-4;
const PREFIX_TOL = 1e-5;
const available = torchPythonAvailable();
// Every distinct prefix start in its own group, so the reuse path runs for each (a cost model would merge them).
const options = { device: 'cpu', dtype: 'float32' as const, threads: 1 };

if (!available && process.env['CI'] === 'true') {
  it('has the torch engine installed (CI installs it)', () => {
    throw new Error(`the torch engine's Python is missing under CI=true: ${TORCH_INSTALL_HINT}`);
  });
}

describe.skipIf(!available).each(FIXTURE_NAMES)(
  'the torch engine (cpu, float32) on %s',
  (name) => {
    const golden = readGolden(name);
    let engine: TorchEngine;
    let wasm: TfjsEngine;
    beforeAll(async () => {
      // The fixtures' vocabularies (300-320) fit one slab of W_U by default; slabs of 64 rows on all but tiny-parallel
      // exercise the slab cross-entropy the CPU uses at Pythia's vocabulary (tiny-parallel keeps the one-product path).
      const slabs = name === 'tiny-parallel' ? {} : { slabColumns: 64 };
      [engine, wasm] = await Promise.all([TorchEngine.load(join(MODELS, name), { ...options, ...slabs }), TfjsEngine.load(join(MODELS, name), { backend: 'wasm' })]);
    }, 300_000); // importing torch alone takes 5-20 s on a busy 2-core machine
    afterAll(() => {
      engine?.dispose();
      wasm?.dispose();
    });

    it('reports its device and dtype', () => {
      expect(engine.backend).toBe('torch');
      expect(engine.hello.dtype).toBe('float32');
      expect(engine.hello.device).toMatch(/^cpu \(1 threads\)$/);
      expect(engine.hello.shape).toMatchObject(engine.shape);
    });

    it('agrees with transformers and wasm on logits, CE (per position too) and every tap', async () => {
      const names = tapNames(wasm.model.cfg);
      const [got, ref] = await Promise.all([engine.taps(golden.prompts, names, { cePositions: true }), wasm.taps(golden.prompts, names, { cePositions: true })]);
      expect(scaledMaxDiff(got.values['logits']!, flat(golden.logits_last))).toBeLessThan(TOL);
      expect(scaledMaxDiff(got.ce, golden.ce)).toBeLessThan(TOL);
      expect(scaledMaxDiff(got.cePositions!, flat(golden.ce_positions))).toBeLessThan(TOL);
      for (const [tap, values] of Object.entries(golden.taps)) {
        expect(scaledMaxDiff(got.values[tap]!, flat(values)), `${tap} vs transformers`).toBeLessThan(TOL);
      }
      for (const tap of names) expect(scaledMaxDiff(got.values[tap]!, ref.values[tap]!), `${tap} vs wasm`).toBeLessThan(TOL);
      expect(scaledMaxDiff(got.ce, ref.ce)).toBeLessThan(TOL);
      expect(got.dims).toEqual(ref.dims);
      // Without CE the logits tap is still the last position's.
      const noCe = await engine.taps(golden.prompts, ['logits', 'mlp_post.0'], { ce: false });
      expect(noCe.ce).toHaveLength(0);
      expect(scaledMaxDiff(noCe.values['logits']!, flat(golden.logits_last))).toBeLessThan(TOL);
    });

    it.each(golden.objectives.map((o) => [o.objective.kind, o] as const))(
      'agrees with transformers and wasm on f, CE and the one-hot gradient for the %s objective',
      async (_kind, g) => {
        const objective = toObjective(g.objective);
        const k = 8;
        const [ev, gr, ref] = await Promise.all([
          engine.evaluate(golden.prompts, objective),
          engine.gradients(golden.prompts, golden.lambdas, objective, k, { full: true }),
          wasm.gradients(golden.prompts, golden.lambdas, objective, k, { full: true }),
        ]);
        expect(scaledMaxDiff(ev.f, g.f)).toBeLessThan(TOL);
        expect(scaledMaxDiff(ev.ce, g.ce)).toBeLessThan(TOL);
        expect(scaledMaxDiff(gr.f, g.f)).toBeLessThan(TOL);
        expect(scaledMaxDiff(gr.ce, g.ce)).toBeLessThan(TOL);
        expect(scaledMaxDiff(gr.grads!, flat(g.grads))).toBeLessThan(TOL);
        expect(scaledMaxDiff(gr.grads!, ref.grads!)).toBeLessThan(TOL);
        // Top-k: distinct allowed ids, each within tolerance of the reference k-th best gradient.
        const vocab = engine.tokenizer.vocabSize;
        g.grads.forEach((prompt, b) =>
          prompt.forEach((row, p) => {
            const kth = [...row.slice(0, vocab)].sort((x, y) => y - x)[k - 1]!;
            const chosen = Array.from(gr.topk.subarray((b * prompt.length + p) * k, (b * prompt.length + p + 1) * k));
            expect(new Set(chosen).size).toBe(k);
            for (const t of chosen) {
              expect(t).toBeLessThan(vocab);
              expect(row[t]!).toBeGreaterThanOrEqual(kth - TOL * Math.max(1, Math.abs(kth)));
            }
          }),
        );
      },
    );

    it('gives the same f, CE and next token with the prefix hint as without (children edited at 0, 1 and n-1)', async () => {
      const parents = golden.prompts;
      const n = parents[0]!.length;
      const V = engine.tokenizer.vocabSize;
      const children: number[][] = [];
      const hint: PrefixHint = { parents, parentOf: [], from: [] };
      let seed = 7;
      for (const p of [0, 1, n - 1, 2]) {
        parents.forEach((parent, j) => {
          const child = [...parent];
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          child[p] = (child[p]! + 1 + (seed % (V - 3))) % V;
          children.push(child);
          hint.parentOf.push(j);
          hint.from.push(p);
        });
      }
      children.push([...parents[0]!].reverse()); // no parent
      hint.parentOf.push(-1);
      hint.from.push(0);
      for (const g of golden.objectives) {
        const objective = toObjective(g.objective);
        const [full, reused] = await Promise.all([engine.evaluate(children, objective), engine.evaluate(children, objective, { prefix: hint })]);
        expect(scaledMaxDiff(reused.f, full.f), g.objective.kind).toBeLessThan(PREFIX_TOL);
        expect(scaledMaxDiff(reused.ce, full.ce), g.objective.kind).toBeLessThan(PREFIX_TOL);
      }
      // A hint that lies (the child differs before `from`) is the caller's mistake.
      const bad: PrefixHint = { parents, parentOf: [0], from: [n - 1] };
      await expect(engine.evaluate([[...parents[1]!]], toObjective(golden.objectives[0]!.objective), { prefix: bad })).rejects.toMatchObject({
        code: 'E_ENGINE_INPUT',
      });
    });

    it("gives the same f and CE with the prefix hint when the parents' forward comes from a gradients request", async () => {
      // EPO asks for its new members' gradients, then evaluates their children: the engine keeps the gradient's
      // forward (keys/values, hidden states, per-position CE) as the parents'. Some parents come from there, the
      // others from evaluate's own forward.
      const parents = golden.prompts;
      const n = parents[0]!.length;
      const V = engine.tokenizer.vocabSize;
      const children: number[][] = [];
      const hint: PrefixHint = { parents, parentOf: [], from: [] };
      parents.forEach((parent, j) => {
        for (const p of [1, Math.floor(n / 2), n - 1]) {
          const child = [...parent];
          child[p] = (child[p]! + 5 + j) % V;
          children.push(child);
          hint.parentOf.push(j);
          hint.from.push(p);
        }
      });
      for (const g of golden.objectives) {
        const objective = toObjective(g.objective);
        const some = parents.slice(0, Math.max(1, parents.length - 1));
        await engine.gradients(some, golden.lambdas.slice(0, some.length), objective, 4);
        const reused = await engine.evaluate(children, objective, { prefix: hint });
        const full = await engine.evaluate(children, objective);
        expect(scaledMaxDiff(reused.f, full.f), g.objective.kind).toBeLessThan(PREFIX_TOL);
        expect(scaledMaxDiff(reused.ce, full.ce), g.objective.kind).toBeLessThan(PREFIX_TOL);
      }
    });

    if (name !== 'tiny-parallel') return;

    it('makes the same EPO choices as wasm over 10 iterations', async () => {
      await expectSameEpoChoices(engine, wasm, toObjective(golden.objectives[0]!.objective));
    });

    it('resumes EPO from a checkpoint to a byte-identical history, on a fresh engine process', async () => {
      const objective: Objective = toObjective(golden.objectives[1]!.objective);
      const config = { iters: 6, population: 4, children: 8, topk: 16, seed: 5, checkpointEvery: 3 };
      const checkpoints: Uint8Array[] = [];
      const full = await epo(engine, objective, config, { onCheckpoint: (s) => void checkpoints.push(encodeCheckpoint(s, {})) });
      const fresh = await TorchEngine.load(join(MODELS, name), options);
      try {
        const { state } = decodeCheckpoint(checkpoints[0]!, 'checkpoint');
        const resumed = await epo(fresh, objective, config, { resume: state });
        expect(Buffer.from(encodeHistory(resumed.history, {})).equals(Buffer.from(encodeHistory(full.history, {})))).toBe(true);
      } finally {
        fresh.dispose();
      }
    });

    it('fails a call with a retryable error when the process dies, and restarts it on the next call', async () => {
      const objective = toObjective(golden.objectives[2]!.objective);
      const before = await engine.evaluate(golden.prompts, objective);
      const pid = engine.pid!;
      const inFlight = engine.evaluate(golden.prompts, objective);
      process.kill(pid, 'SIGKILL');
      const err = await inFlight.then(
        () => undefined,
        (e: unknown) => e,
      );
      // The kill may land after the reply was sent; then the next call is the one that finds the process gone.
      if (err !== undefined) {
        expect(err).toBeInstanceOf(TorchEngineError);
        expect((err as TorchEngineError).kind).toBe('crash');
        expect((err as Error).message).toMatch(/exited \(signal SIGKILL\).*next call starts a new one/);
      }
      const after = await engine.evaluate(golden.prompts, objective);
      expect(engine.pid).not.toBe(pid);
      expect(Array.from(after.f)).toEqual(Array.from(before.f));
    });

    it('names the fix when the Python is missing or the device is absent', async () => {
      await expect(TorchEngine.load(join(MODELS, name), { ...options, python: '/nonexistent/python3' })).rejects.toMatchObject({
        code: 'E_TORCH_MISSING',
        message: expect.stringContaining('npm run engines:torch'),
      });
      await expect(TorchEngine.load(join(MODELS, name), { ...options, device: 'cuda:7' })).rejects.toMatchObject({
        code: 'E_TORCH_DEVICE',
      });
    });
  },
  180_000,
); // per test: EPO on two engines on a busy 2-core machine
