// The cpu backend computes what the wasm backend does: both match the transformers golden numbers
// (the wasm side is test/core/model/parity.test.ts; one backend per process). Tolerance 1e-4 scale-relative.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { tapNames } from '../../../core/model/neox.js';
import { MODELS, flat, readGolden, scaledMaxDiff, toObjective } from './helpers.js';

describe('the cpu backend', () => {
  it.each(['tiny-parallel', 'tiny-serial-rope1'])('agrees with the golden numbers (and so with wasm) on %s', async (name) => {
    const golden = readGolden(name);
    const engine = await TfjsEngine.load(join(MODELS, name), { backend: 'cpu' });
    try {
      expect(engine.backend).toBe('cpu');
      const got = await engine.taps(golden.prompts, tapNames(engine.model.cfg));
      expect(scaledMaxDiff(got.values['logits']!, flat(golden.logits_last))).toBeLessThan(1e-4);
      for (const [tap, values] of Object.entries(golden.taps)) {
        expect(scaledMaxDiff(got.values[tap]!, flat(values)), tap).toBeLessThan(1e-4);
      }
      const g = golden.objectives[0]!;
      const gr = await engine.gradients(golden.prompts, golden.lambdas, toObjective(g.objective), 4, { full: true });
      expect(scaledMaxDiff(gr.grads!, flat(g.grads))).toBeLessThan(1e-4);
      expect(scaledMaxDiff(gr.ce, g.ce)).toBeLessThan(1e-4);
    } finally {
      engine.dispose();
    }
  });
});
