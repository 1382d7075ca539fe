// One check for every backend beside wasm: on each fixture checkpoint, the backend under test and wasm (in a
// worker thread: one tfjs backend per thread) agree on logits, CE, every tap, f and the one-hot gradients, and
// the backend agrees with the transformers golden numbers. Tolerance 1e-4 scale-relative.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { describeBackend } from '../../../core/model/backend.js';
import { PoolEngine } from '../../../core/model/pool-engine.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { tapNames } from '../../../core/model/taps.js';
import { readSae, saeObjective, saeTap } from '../../../core/objectives/sae.js';
import { FIXTURE_NAMES, MODELS, expectSameEpoChoices, flat, readGolden, readSaeGoldens, saePath, scaledMaxDiff, toObjective } from './helpers.js';

const TOL = 1e-4;

/** Registers the parity tests for `backend`; `skip` (a reason) registers them skipped. */
export function backendParity(backend: 'cpu' | 'webgpu' | 'tensorflow', skip?: string): void {
  describe.skipIf(skip !== undefined).each(FIXTURE_NAMES)(`the ${backend} backend on %s`, (name) => {
    const golden = readGolden(name);
    let engine: TfjsEngine;
    let wasm: PoolEngine;
    beforeAll(async () => {
      [engine, wasm] = await Promise.all([TfjsEngine.load(join(MODELS, name), { backend }), PoolEngine.load(join(MODELS, name), { threads: 1, backend: 'wasm' })]);
    });
    afterAll(() => {
      engine?.dispose();
      wasm?.dispose();
    });

    it('agrees with wasm and transformers on logits, CE (per position too) and every tap', async () => {
      expect(engine.backend).toBe(backend);
      expect(describeBackend()).toMatch(new RegExp(`^${backend}\\b`));
      const names = tapNames(engine.model.cfg);
      const [got, ref] = await Promise.all([engine.taps(golden.prompts, names, { cePositions: true }), wasm.taps(golden.prompts, names, { cePositions: true })]);
      for (const tap of names) {
        expect(scaledMaxDiff(got.values[tap]!, ref.values[tap]!), `${tap} vs wasm`).toBeLessThan(TOL);
      }
      expect(scaledMaxDiff(got.ce, ref.ce)).toBeLessThan(TOL);
      expect(scaledMaxDiff(got.cePositions!, ref.cePositions!)).toBeLessThan(TOL);
      expect(scaledMaxDiff(got.cePositions!, flat(golden.ce_positions))).toBeLessThan(TOL);
      expect(scaledMaxDiff(got.values['logits']!, flat(golden.logits_last))).toBeLessThan(TOL);
      for (const [tap, values] of Object.entries(golden.taps)) {
        expect(scaledMaxDiff(got.values[tap]!, flat(values)), `${tap} vs transformers`).toBeLessThan(TOL);
      }
    });

    it.each(golden.objectives.map((o) => [o.objective.kind, o] as const))(
      'agrees with wasm and transformers on f, CE and the one-hot gradient for the %s objective',
      async (_kind, g) => {
        const objective = toObjective(g.objective);
        const [ev, gr, ref] = await Promise.all([
          engine.evaluate(golden.prompts, objective),
          engine.gradients(golden.prompts, golden.lambdas, objective, 8, { full: true }),
          wasm.gradients(golden.prompts, golden.lambdas, objective, 8, { full: true }),
        ]);
        expect(scaledMaxDiff(ev.f, ref.f)).toBeLessThan(TOL);
        expect(scaledMaxDiff(ev.ce, ref.ce)).toBeLessThan(TOL);
        expect(scaledMaxDiff(gr.grads!, ref.grads!)).toBeLessThan(TOL);
        expect(scaledMaxDiff(gr.grads!, flat(g.grads))).toBeLessThan(TOL);
        expect(scaledMaxDiff(gr.f, g.f)).toBeLessThan(TOL);
      },
    );

    // SAE latents on this model (test/fixtures/saes): the library's own activations, and wasm's gradient.
    for (const g of saeGoldensOf(name)) {
      it(`agrees with ${g.sae}'s own encode on SAE latents, and with wasm on their gradient`, async () => {
        const sae = readSae(g.source);
        for (const latent of g.latents) {
          const objective = saeObjective(sae, latent, saeTap(sae, g.tap, engine.shape));
          const [gr, ref] = await Promise.all([
            engine.gradients(g.prompts, [1, 1, 1].slice(0, g.prompts.length), objective, 4, { full: true }),
            wasm.gradients(g.prompts, [1, 1, 1].slice(0, g.prompts.length), objective, 4, { full: true }),
          ]);
          expect(
            scaledMaxDiff(
              gr.f,
              g.acts.map((row) => row[latent]!),
            ),
            `latent ${latent}`,
          ).toBeLessThan(1e-5);
          expect(scaledMaxDiff(gr.grads!, ref.grads!), `latent ${latent} gradient`).toBeLessThan(TOL);
        }
      });
    }

    // EPO's choices depend only on comparisons, so last-bit differences leave them alone unless two
    // candidates tie to within float error: seen on this fixture for 30 iterations on every backend here.
    if (name === 'tiny-parallel')
      it('makes the same EPO choices as wasm over 10 iterations', async () => {
        await expectSameEpoChoices(engine, wasm, toObjective(golden.objectives[0]!.objective));
      });
  });
}

/** The SAE goldens of a model, with two latents that fire on its prompts (the first and the last such). */
function saeGoldensOf(model: string): Array<{ sae: string; source: string; tap: string; prompts: number[][]; acts: number[][]; latents: number[] }> {
  return readSaeGoldens()
    .filter((g) => g.model === model)
    .map((g) => {
      const fired = g.acts[0]!.map((_, j) => j).filter((j) => g.acts.some((row) => row[j]! > 0));
      return { sae: g.sae, source: saePath(g.sae), tap: (g.tap ?? g.hook)!, prompts: g.prompts, acts: g.acts, latents: [fired[0]!, fired[fired.length - 1]!] };
    });
}
