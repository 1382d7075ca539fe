// `dreamsweep worker` refuses bad options, and a backend that cannot start, before it takes any unit.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

// An address nothing listens on: every case must fail before the worker connects.
const env = { TEMPORAL_ADDRESS: '127.0.0.1:9' };

describe('dreamsweep worker', () => {
  it('fails at start, in one line with exit code 2, when its backend cannot run on the machine', async () => {
    const r = await runCli(['worker', '--backend', 'webgpu'], { ...env, VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/webgpu: Dawn found no Vulkan adapter.*--backend wasm/);
    expect(r.stderr).not.toMatch(/\n\s+at .*\.[cm]?[jt]s:\d+:\d+/); // no JavaScript stack (Dawn prints its own C++ trace)
  });

  it('rejects a bad option in one line with exit code 2', async () => {
    const r = await runCli(['worker', '--backend', 'cpu', '--concurrency', '0'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--concurrency: expected an integer >= 1, got 0/);
  });

  it('reports its backend and device at start, before it connects', async () => {
    const r = await runCli(['worker', '--queues', 'x'], { ...env, DREAMSWEEP_BACKEND: 'wasm' });
    expect(r.stderr).toMatch(/dreamsweep worker: backend wasm \(simd\)/);
    expect(r.code).not.toBe(0); // nothing listens at the address
  }, 120_000);
});
