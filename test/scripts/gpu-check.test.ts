// #29: scripts/gpu-check.sh, proved on the CPU in quick mode: `pack`, then `run` from the unpacked tar with no xz
// (Python's lzma unpacks the carried Node), summary.json with the machine's versions, every step and the goal.
// The paper's code is not in this repository: where DREAMSWEEP_DREAMY names a checkout of it, pack carries it
// (GPU_CHECK_DREAMY) and it is timed beside the torch engine (the goal PASS/FAIL with its ratio); else the reference
// step is recorded as skipped, with the line saying how to provide it, and the goal says it is missing.
// Needs a Python with torch, transformers, safetensors and numpy: DREAMSWEEP_GOLDEN_PYTHON, else the torch engine's
// (which has no transformers unless installed there); skipped without one.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
const dreamyDir = process.env['DREAMSWEEP_DREAMY'];
const dreamy = dreamyDir && existsSync(path.join(dreamyDir, 'dreamy/epo.py')) ? path.resolve(dreamyDir) : undefined;
const dir = mkdtempSync(path.join(tmpdir(), 'gpu-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!python)('scripts/gpu-check.sh on the CPU, quick', () => {
  it(`packs, unpacks Node without xz, runs every quick step ${dreamy ? 'with the reference' : 'skipping the reference (no DREAMSWEEP_DREAMY)'}, and writes the summary`, async () => {
    const tar = path.join(dir, 'gpu-check.tar');
    const packed = await promisify(execFile)('bash', [SCRIPT, 'pack', tar], { env: { ...process.env, GPU_CHECK_XZ_LEVEL: '0', GPU_CHECK_DREAMY: dreamy ?? '' } });
    if (!dreamy) expect(packed.stdout).toContain("gpu-check: no GPU_CHECK_DREAMY: the paper's code is not packed; run will skip the reference steps");
    execFileSync('tar', ['xf', tar], { cwd: dir });
    const results = path.join(dir, 'results');
    const env = {
      ...process.env,
      PYTHON: python!,
      GPU_CHECK_QUICK: '1',
      GPU_CHECK_DEVICE: 'cpu',
      GPU_CHECK_XZ: '/nonexistent/xz',
      GPU_CHECK_DEADLINE: '400',
      GPU_CHECK_DREAMY: '',
    };
    const r = await promisify(execFile)('bash', [path.join(dir, 'gpu-check/gpu-check.sh'), 'run', results], { env }).catch(
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    const out = r.stdout;
    expect(out).toContain("no xz here; unpacking Node with Python's lzma");
    if (dreamy) {
      expect(out).toMatch(/^gpu-check: goal EPO 70m: torch [\d.]+ s \/ paper's code [\d.]+ s per iteration = [\d.]+x \(goal <= 0\.5x\): (PASS|FAIL)$/m);
    } else {
      expect(out).toMatch(
        /^gpu-check: reference steps skipped: the paper's code is not here \(no .*\); to time it, pack with GPU_CHECK_DREAMY=DIR or run with GPU_CHECK_DREAMY=DIR, DIR a checkout of https:\/\/github\.com\/Confirm-Solutions\/dreamy$/m,
      );
      expect(out).toContain("gpu-check: reference-70m SKIPPED (no paper's code)");
      expect(out).toMatch(/^gpu-check: goal EPO 70m: torch [\d.]+ s \/ paper's code - per iteration = no ratio: reference-70m \(skipped\) missing \(goal <= 0\.5x\): MISSING$/m);
    }
    const summary = JSON.parse(readFileSync(path.join(results, 'summary.json'), 'utf8')) as {
      environment: { torch: string; torchCuda: string | null; transformers: string };
      quick: boolean;
      goals: Array<{ size: string; ratio: number; result: string }>;
      steps: Record<string, { bench?: string; device?: string; dtype?: string } | null>;
    };
    expect(Object.keys(summary.steps).sort()).toEqual(['epo-70m', 'parity-float32', 'reference-70m', 'scan-70m']);
    for (const [name, v] of Object.entries(summary.steps)) {
      if (name === 'reference-70m' && !dreamy) continue;
      expect(v, `${name}: ${readFileSync(path.join(results, `${name}.log`), 'utf8').slice(-2000)}`).not.toBeNull();
    }
    if (dreamy) expect(summary.steps['reference-70m']).toMatchObject({ bench: 'reference-epo', device: 'cpu', dtype: 'float32' });
    else expect(summary.steps['reference-70m']).toBeNull();
    expect(summary.environment.torch).toMatch(/^\d+\.\d+/);
    expect(summary.environment.transformers).toMatch(/^\d+\.\d+/);
    expect(summary.quick).toBe(true);
    expect(summary.goals).toEqual([
      dreamy
        ? expect.objectContaining({ size: '70m', ratio: expect.any(Number), result: expect.stringMatching(/^(PASS|FAIL)$/) })
        : expect.objectContaining({ size: '70m', ratio: null, referenceSeconds: null, result: 'MISSING' }),
    ]);
    expect('code' in r ? r.code : 0, out).toBe(0);
  }, 420_000);
});
