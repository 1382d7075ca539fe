// Worker threads: a batch spread over two wasm workers gives what one engine gives (within 1e-5 of scale), and
// a thread that dies fails its calls in flight, then is started again by the next call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { PoolEngine } from '../../../core/model/pool-engine.js';
import { MODELS, flat, readGolden, scaledMaxDiff, toObjective } from './helpers.js';

describe('the worker-thread pool engine', () => {
  const golden = readGolden('tiny-fp16');
  let pool: PoolEngine;
  beforeAll(async () => {
    pool = await PoolEngine.load(join(MODELS, 'tiny-fp16'), { threads: 2, backend: 'wasm' });
  });
  afterAll(() => pool.dispose());

  it('matches the golden numbers when the batch is split over two workers', async () => {
    const g = golden.objectives[0]!;
    const ev = await pool.evaluate(golden.prompts, toObjective(g.objective));
    expect(scaledMaxDiff(ev.f, g.f)).toBeLessThan(1e-4);
    expect(scaledMaxDiff(ev.ce, g.ce)).toBeLessThan(1e-4);
    const gr = await pool.gradients(golden.prompts, golden.lambdas, toObjective(g.objective), 4, { full: true });
    expect(scaledMaxDiff(gr.grads!, flat(g.grads))).toBeLessThan(1e-4);
    expect(gr.topk.length).toBe(golden.prompts.length * golden.prompts[0]!.length * 4);
    const taps = await pool.taps(golden.prompts, ['resid_pre.2', 'logits']);
    expect(scaledMaxDiff(taps.values['resid_pre.2']!, flat(golden.taps['resid_pre.2']!))).toBeLessThan(1e-4);
    expect(scaledMaxDiff(taps.values['logits']!, flat(golden.logits_last))).toBeLessThan(1e-4);
    // Per-position CE comes back in prompt order from both workers: each row's mean is that prompt's CE.
    const n = golden.prompts[0]!.length;
    const withPositions = await pool.taps(golden.prompts, [], { cePositions: true });
    expect(withPositions.cePositions).toHaveLength(golden.prompts.length * (n - 1));
    const means = golden.prompts.map((_, b) => withPositions.cePositions!.subarray(b * (n - 1), (b + 1) * (n - 1)).reduce((a, x) => a + x, 0) / (n - 1));
    expect(scaledMaxDiff(means, golden.ce)).toBeLessThan(1e-4);
  });

  it('passes a worker-side UserError through with its code', async () => {
    await expect(pool.taps(golden.prompts, ['resid_pre.9'])).rejects.toMatchObject({ code: 'E_TAP_UNKNOWN' });
  });

  it('fails the calls in flight when a thread dies, and starts it again on the next call', async () => {
    const objective = toObjective(golden.objectives[0]!.objective);
    const before = await pool.evaluate(golden.prompts, objective);
    // The pool's own threads (private): a test stands in for an abort inside wasm.
    const threads = (pool as unknown as { threads: Array<{ worker: Worker }> }).threads;
    const call = pool.evaluate(golden.prompts, objective);
    await threads[0]!.worker.terminate();
    await expect(call).rejects.toThrow(/engine worker thread 0 exited .*the next call starts a new one/);
    const after = await pool.evaluate(golden.prompts, objective);
    expect(Array.from(after.f)).toEqual(Array.from(before.f));
    expect(Array.from(after.ce)).toEqual(Array.from(before.ce));
  });
});

describe('the pool engine reads config.json as the CLI does', () => {
  it('refuses a malformed config.json with E_MODEL_CONFIG (not a SyntaxError), a missing one with E_MODEL_MISSING_FILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-pool-'));
    try {
      await expect(PoolEngine.load(dir, { threads: 1, backend: 'wasm' })).rejects.toMatchObject({ code: 'E_MODEL_MISSING_FILE' });
      writeFileSync(join(dir, 'config.json'), '{"model_type": "gpt2",');
      await expect(PoolEngine.load(dir, { threads: 1, backend: 'wasm' })).rejects.toMatchObject({ code: 'E_MODEL_CONFIG' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
