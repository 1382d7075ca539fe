// The scan's neuron, logit and SAE targets with the torch engine behind the pipe (CPU, float32): the same top windows,
// counts and exclusions as on wasm, activations within the engines' parity. The torch engine sends the raw taps the
// kinds read (mlp_post, logits, an SAE's hook) and, for a tap a residual pair also reads, the raw values beside it.
// Needs the engine's Python (skipped without it; torch-engine.test.ts fails under CI when it is missing).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanResult } from '../../../core/corpus/result.js';
import { scanCorpus } from '../../../core/corpus/scan.js';
import type { Engine } from '../../../core/engine.js';
import { openEngine } from '../../../core/model/open-engine.js';
import { torchPythonAvailable } from '../../../core/model/torch-env.js';
import { smokeFeatureScan } from '../corpus/helpers.js';
import { MODELS } from './helpers.js';

// torch vs wasm forwards differ in float32 rounding (the parity tolerance of torch-engine.test.ts).
const PARITY = 1e-4;
const close = (a: number, b: number) => Math.abs(a - b) <= PARITY * Math.max(1, Math.abs(b));

describe.skipIf(!torchPythonAvailable())('scan features on the torch engine (cpu, float32) equal those on wasm', () => {
  let torch: Engine;
  let wasm: Engine;
  beforeAll(async () => {
    [torch, wasm] = await Promise.all([
      openEngine(join(MODELS, 'tiny-llama3'), { engine: 'torch', device: 'cpu', dtype: 'float32', threads: 1 }),
      openEngine(join(MODELS, 'tiny-llama3'), { engine: 'tfjs', backend: 'wasm' }),
    ]);
  }, 300_000);
  afterAll(() => {
    torch?.dispose();
    wasm?.dispose();
  });

  const scan = (engine: Engine): Promise<ScanResult> => scanCorpus(smokeFeatureScan(engine));

  it('same windows, counts and exclusions; activations within parity', async () => {
    const [a, b] = [await scan(torch), await scan(wasm)];
    expect(a.windows).toBe(b.windows);
    expect(a.features.map((f) => f.key)).toEqual(b.features.map((f) => f.key));
    a.features.forEach((fa, i) => {
      const fb = b.features[i]!;
      expect([fa.count, fa.excluded], fa.label).toEqual([fb.count, fb.excluded]);
      expect(fa.top.map((e) => e.source)).toEqual(fb.top.map((e) => e.source));
      expect(new Set(fa.top.map((e) => e.activation)).size, 'a target that varies').toBeGreaterThan(1);
      fa.top.forEach((e, j) => {
        expect(close(e.activation, fb.top[j]!.activation), `${fa.label} window ${j}`).toBe(true);
        expect(e.activations!.length).toBe(6);
        e.activations!.forEach((x, t) => expect(close(x, fb.top[j]!.activations![t]!), `${fa.label} window ${j} token ${t}`).toBe(true));
      });
      expect(close(fa.mean!, fb.mean!)).toBe(true);
    });
    a.pairs.forEach((p, i) => expect(close(p.max!, b.pairs[i]!.max!)).toBe(true));
  }, 300_000);
});
