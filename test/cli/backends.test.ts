// `dreamsweep backends` tries every backend in a process of its own and says which run here.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { BackendProbe } from '../../cli/backends.js';

describe('dreamsweep backends', () => {
  it('lists every backend; wasm and cpu run everywhere, webgpu fails with the reason when Vulkan has no adapter', async () => {
    const r = await runCli(['backends', '--json'], { VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect(r.code, r.stderr).toBe(0);
    const probes = JSON.parse(r.stdout) as BackendProbe[];
    expect(probes.map((p) => p.backend)).toEqual(['wasm', 'cpu', 'webgpu', 'tensorflow', 'torch']);
    expect(probes[0]).toEqual({ backend: 'wasm', ok: true, device: 'wasm (simd)' });
    expect(probes[1]).toEqual({ backend: 'cpu', ok: true, device: 'cpu' });
    expect(probes[2]).toMatchObject({ ok: false, error: expect.stringMatching(/Dawn found no Vulkan adapter/) });
    const tf = probes[3]!;
    expect(tf.ok ? tf.device : tf.error).toMatch(tf.ok ? /^tensorflow \(libtensorflow/ : /tfjs-node.* not installed/);
    const torch = probes[4]!;
    expect(torch.ok ? torch.device : torch.error).toMatch(torch.ok ? /^torch \d+\.\d+\S*: (cpu|cuda:0 \()/ : /npm run engines:torch/);
  }, 120_000);

  it('says how to install the torch engine when its Python is missing', async () => {
    const r = await runCli(['backends', '--json'], { DREAMSWEEP_TORCH_PYTHON: '/nonexistent/python3' });
    const torch = (JSON.parse(r.stdout) as BackendProbe[]).find((p) => p.backend === 'torch')!;
    expect(torch).toMatchObject({ ok: false, error: expect.stringContaining('npm run engines:torch') });
  }, 120_000);

  it('prints one line per backend for people', async () => {
    const r = await runCli(['backends']);
    expect(r.code, r.stderr).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).slice(0, 2).join(' ')),
    ).toEqual(expect.arrayContaining(['wasm yes', 'cpu yes']));
    expect(r.stdout.trim().split('\n')).toHaveLength(5);
  }, 120_000);
});
