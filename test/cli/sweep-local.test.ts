// How many model worker processes the embedded default starts: one per core for the one-core backends,
// capped by the sweep's concurrency and by memory; one for backends that use the whole machine.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localWorkerCount } from '../../infra/local-workers.js';
import { loadSweepFile } from '../../core/sweep/spec.js';

const spec = loadSweepFile(join(import.meta.dirname, '../../sweeps/demo.yaml'));
const weights = statSync(join(spec.model.path, 'model.safetensors')).size;
const GiB = 2 ** 30;

describe('localWorkerCount', () => {
  it('starts one wasm worker per core, up to the units the sweep runs at once', () => {
    expect(localWorkerCount(spec, 'wasm', { cores: 2, memoryBytes: 16 * GiB })).toBe(2);
    expect(localWorkerCount(spec, 'wasm', { cores: 64, memoryBytes: 256 * GiB })).toBe(spec.concurrency.units);
    expect(localWorkerCount(spec, 'cpu', { cores: 3, memoryBytes: 16 * GiB })).toBe(3);
  });

  it('keeps the model copies within half the memory, and always starts one', () => {
    expect(localWorkerCount(spec, 'wasm', { cores: 8, memoryBytes: 2 * 3 * weights * 2 })).toBe(2);
    expect(localWorkerCount(spec, 'wasm', { cores: 8, memoryBytes: weights })).toBe(1);
  });

  it('starts one for webgpu and tensorflow, which use the whole machine', () => {
    expect(localWorkerCount(spec, 'webgpu', { cores: 8, memoryBytes: 64 * GiB })).toBe(1);
    expect(localWorkerCount(spec, 'tensorflow', { cores: 8, memoryBytes: 64 * GiB })).toBe(1);
    expect(localWorkerCount({ ...spec, model: { ...spec.model, backend: 'webgpu' } }, undefined, { cores: 8, memoryBytes: 64 * GiB })).toBe(1);
  });
});
