// `dreamsweep backends` tries every backend in a process of its own and says which run here.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { BackendProbe } from '../../cli/backends.js';

// Each run starts a process per backend, one after another: minutes on a busy 2-core machine.
const TIMEOUT = 180_000;

describe('dreamsweep backends', () => {
  it(
    'lists every backend; wasm and cpu run everywhere, webgpu fails with the reason when Vulkan has no adapter',
    async () => {
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
    },
    TIMEOUT,
  );

  // One run for both (each run starts a process per backend): the table for people, with the torch engine's Python missing.
  it(
    'prints one line per backend for people, and says how to install the torch engine when its Python is missing',
    async () => {
      const r = await runCli(['backends'], { DREAMSWEEP_TORCH_PYTHON: '/nonexistent/python3' });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(expect.arrayContaining(['wasm yes', 'cpu yes']));
      expect(lines).toHaveLength(6);
      const torch = lines.find((l) => l.startsWith('torch '));
      expect(torch).toMatch(/^torch\s+no\s+.*npm run engines:torch/);
      // A configured Python is taken at its word: auto picks torch, and the line says its probe failed.
      expect(lines.at(-1)).toMatch(/^auto picks torch: the torch engine's Python is installed \(\/nonexistent\/python3\).* \(but its probe failed: /);
    },
    TIMEOUT,
  );
});
