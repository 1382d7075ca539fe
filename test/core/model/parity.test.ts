// Parity with Hugging Face transformers (each family's *ForCausalLM, float32): golden numbers from
// scripts/golden/engine_golden.py. Tolerance: 1e-4 of max(1, |largest expected value|).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { tapNames } from '../../../core/model/taps.js';
import { FIXTURE_NAMES, MODELS, flat, readGolden, scaledMaxDiff, toObjective } from './helpers.js';

const TOL = 1e-4;

// Slabs of 64 columns: the fixtures' vocabularies (300-320) fit one slab by default, Pythia's does not (unembed.ts).
describe.each(FIXTURE_NAMES.flatMap((name) => [[name, 'one slab', 0] as const, [name, 'slabs of 64', 64] as const]))(
  'the wasm engine on %s, unembedding in %s',
  (name, _how, slabColumns) => {
    const golden = readGolden(name);
    let engine: TfjsEngine;
    beforeAll(async () => {
      engine = await TfjsEngine.load(join(MODELS, name), { backend: 'wasm', slabColumns });
    });
    afterAll(() => engine.dispose());

    it('matches transformers on last-token logits, cross-entropy (per position too) and every tap', async () => {
      const names = tapNames(engine.model.cfg);
      const got = await engine.taps(golden.prompts, names, { cePositions: true });
      expect(scaledMaxDiff(got.values['logits']!, flat(golden.logits_last))).toBeLessThan(TOL);
      expect(scaledMaxDiff(got.ce, golden.ce)).toBeLessThan(TOL);
      expect(scaledMaxDiff(got.cePositions!, flat(golden.ce_positions))).toBeLessThan(TOL);
      // Goldens of the first families have resid_pre and mlp_post only; newer ones have every tap.
      const inGolden = Object.keys(golden.taps);
      expect(names).toEqual(expect.arrayContaining(inGolden));
      if (golden.family !== undefined) expect(inGolden.sort()).toEqual(names.filter((n) => n !== 'logits').sort());
      for (const [tap, values] of Object.entries(golden.taps)) {
        expect(scaledMaxDiff(got.values[tap]!, flat(values)), tap).toBeLessThan(TOL);
      }
      // resid_post.L is resid_pre.L+1 by definition.
      for (let l = 0; l < engine.model.cfg.nLayers; l++) expect(Array.from(got.values[`resid_post.${l}`]!)).toEqual(Array.from(got.values[`resid_pre.${l + 1}`]!));
    });

    it("reads the texts as transformers' tokenizer does (without special tokens)", () => {
      for (const { text, ids } of golden.texts) expect(engine.tokenizer.encode(text), text).toEqual(ids);
    });

    it.each(golden.objectives.map((o) => [o.objective.kind, o] as const))(
      'matches transformers on f, CE and the one-hot gradient of f - lambda*CE for the %s objective',
      async (_kind, g) => {
        const objective = toObjective(g.objective);
        const ev = await engine.evaluate(golden.prompts, objective);
        expect(scaledMaxDiff(ev.f, g.f)).toBeLessThan(TOL);
        expect(scaledMaxDiff(ev.ce, g.ce)).toBeLessThan(TOL);

        const k = 8;
        const gr = await engine.gradients(golden.prompts, golden.lambdas, objective, k, { full: true });
        expect(scaledMaxDiff(gr.f, g.f)).toBeLessThan(TOL);
        expect(scaledMaxDiff(gr.ce, g.ce)).toBeLessThan(TOL);
        expect(scaledMaxDiff(gr.grads!, flat(g.grads))).toBeLessThan(TOL);

        // Top-k: each chosen token's reference gradient is within tolerance of the reference k-th best.
        const V = engine.shape.dVocab;
        const vocab = engine.tokenizer.vocabSize;
        g.grads.forEach((prompt, b) =>
          prompt.forEach((row, p) => {
            const known = row.slice(0, vocab);
            const kth = [...known].sort((x, y) => y - x)[k - 1]!;
            const chosen = Array.from(gr.topk.subarray((b * prompt.length + p) * k, (b * prompt.length + p + 1) * k));
            for (const t of chosen) {
              expect(t).toBeLessThan(Math.min(V, vocab));
              expect(row[t]!).toBeGreaterThanOrEqual(kth - TOL * Math.max(1, Math.abs(kth)));
            }
            expect(new Set(chosen).size).toBe(k);
          }),
        );
      },
    );
  },
);
