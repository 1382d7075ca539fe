// #29: scripts/gpu-check.sh, proved on the CPU in quick mode: `pack`, then `run` from the unpacked tar with no xz
// (Python's lzma unpacks the carried Node), the paper's code (bench/reference_epo.py, vendored dreamy) timed beside
// the torch engine, summary.json with the machine's versions, every step and the goal's PASS/FAIL with its ratio.
// Needs a Python with torch, transformers, safetensors and numpy: DREAMSWEEP_GOLDEN_PYTHON, else the torch engine's
// (which has no transformers unless installed there); skipped without one.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { torchPythonAvailable, torchPython } from '../../core/model/torch-env.js';

const candidates = [process.env['DREAMSWEEP_GOLDEN_PYTHON'], torchPythonAvailable() ? torchPython() : undefined].filter((p): p is string => !!p);
const python = candidates.find((p) => {
  try {
    execFileSync(p, ['-c', 'import torch, transformers, safetensors, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
const SCRIPT = path.resolve('scripts/gpu-check.sh');
const dir = mkdtempSync(path.join(tmpdir(), 'gpu-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!python)('scripts/gpu-check.sh on the CPU, quick', () => {
  it('packs, unpacks Node without xz, runs every quick step with the reference, and writes the summary', async () => {
    const tar = path.join(dir, 'gpu-check.tar');
    await promisify(execFile)('bash', [SCRIPT, 'pack', tar], { env: { ...process.env, GPU_CHECK_XZ_LEVEL: '0' } });
    execFileSync('tar', ['xf', tar], { cwd: dir });
    const results = path.join(dir, 'results');
    const env = { ...process.env, PYTHON: python!, GPU_CHECK_QUICK: '1', GPU_CHECK_DEVICE: 'cpu', GPU_CHECK_XZ: '/nonexistent/xz', GPU_CHECK_DEADLINE: '400' };
    const r = await promisify(execFile)('bash', [path.join(dir, 'gpu-check/gpu-check.sh'), 'run', results], { env }).catch(
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    const out = r.stdout;
    expect(out).toContain("no xz here; unpacking Node with Python's lzma");
    expect(out).toMatch(/^gpu-check: goal EPO 70m: torch [\d.]+ s \/ paper's code [\d.]+ s per iteration = [\d.]+x \(goal <= 0\.5x\): (PASS|FAIL)$/m);
    const summary = JSON.parse(readFileSync(path.join(results, 'summary.json'), 'utf8')) as {
      environment: { torch: string; torchCuda: string | null; transformers: string };
      quick: boolean;
      goals: Array<{ size: string; ratio: number; result: string }>;
      steps: Record<string, { bench?: string; device?: string; dtype?: string } | null>;
    };
    expect(Object.keys(summary.steps).sort()).toEqual(['epo-70m', 'parity-float32', 'reference-70m', 'scan-70m']);
    for (const [name, v] of Object.entries(summary.steps)) expect(v, `${name}: ${readFileSync(path.join(results, `${name}.log`), 'utf8').slice(-2000)}`).not.toBeNull();
    expect(summary.steps['reference-70m']).toMatchObject({ bench: 'reference-epo', device: 'cpu', dtype: 'float32' });
    expect(summary.environment.torch).toMatch(/^\d+\.\d+/);
    expect(summary.environment.transformers).toMatch(/^\d+\.\d+/);
    expect(summary.quick).toBe(true);
    expect(summary.goals).toEqual([expect.objectContaining({ size: '70m', ratio: expect.any(Number), result: expect.stringMatching(/^(PASS|FAIL)$/) })]);
    expect('code' in r ? r.code : 0, out).toBe(0);
  }, 420_000);
});
