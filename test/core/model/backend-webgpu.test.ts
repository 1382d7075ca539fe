// The webgpu backend (Dawn over Vulkan) computes what the wasm backend does, and so what transformers does.
// wasm runs beside it in a worker thread (one tfjs backend per thread). Any Vulkan adapter serves: CI uses
// Mesa's lavapipe (a CPU Vulkan driver, .ci/run installs it); an NVIDIA GPU needs its Vulkan ICD.
// Without an adapter the file skips locally and fails under CI, where the adapter is part of the setup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { describeBackend, initBackend } from '../../../core/model/backend.js';
import { PoolEngine } from '../../../core/model/pool-engine.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { tapNames } from '../../../core/model/neox.js';
import { FIXTURE_NAMES, MODELS, flat, readGolden, scaledMaxDiff, toObjective } from './helpers.js';

const TOL = 1e-4;

const unavailable = await initBackend('webgpu').then(
  () => undefined,
  (e: Error) => e.message,
);
if (unavailable && process.env['CI']) throw new Error(`CI needs a WebGPU adapter for this test: ${unavailable}`);

describe.skipIf(unavailable !== undefined).each(FIXTURE_NAMES)('the webgpu backend on %s', (name) => {
  const golden = readGolden(name);
  let gpu: TfjsEngine;
  let wasm: PoolEngine;
  beforeAll(async () => {
    [gpu, wasm] = await Promise.all([
      TfjsEngine.load(join(MODELS, name), { backend: 'webgpu' }),
      PoolEngine.load(join(MODELS, name), { threads: 1, backend: 'wasm' }),
    ]);
  });
  afterAll(() => {
    gpu?.dispose();
    wasm?.dispose();
  });

  it('runs on a WebGPU adapter and agrees with wasm and transformers on logits, CE and every tap', async () => {
    expect(describeBackend()).toMatch(/^webgpu \(.+\)$/);
    const names = tapNames(gpu.model.cfg);
    const [got, ref] = await Promise.all([gpu.taps(golden.prompts, names), wasm.taps(golden.prompts, names)]);
    for (const tap of names) {
      expect(scaledMaxDiff(got.values[tap]!, ref.values[tap]!), `${tap} vs wasm`).toBeLessThan(TOL);
    }
    expect(scaledMaxDiff(got.ce, ref.ce)).toBeLessThan(TOL);
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
        gpu.evaluate(golden.prompts, objective),
        gpu.gradients(golden.prompts, golden.lambdas, objective, 8, { full: true }),
        wasm.gradients(golden.prompts, golden.lambdas, objective, 8, { full: true }),
      ]);
      expect(scaledMaxDiff(ev.f, ref.f)).toBeLessThan(TOL);
      expect(scaledMaxDiff(ev.ce, ref.ce)).toBeLessThan(TOL);
      expect(scaledMaxDiff(gr.grads!, ref.grads!)).toBeLessThan(TOL);
      expect(scaledMaxDiff(gr.grads!, flat(g.grads))).toBeLessThan(TOL);
      expect(scaledMaxDiff(gr.f, g.f)).toBeLessThan(TOL);
    },
  );
});
