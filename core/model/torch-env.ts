// Where the PyTorch engine lives: its Python package (engines/torch, in this repository) and the Python that runs
// it: --python / DREAMSWEEP_TORCH_PYTHON, else the virtual environment `npm run engines:torch` makes under the
// cache directory, named by the package version and a hash of its pinned dependencies.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheDir } from '../cache-dir.js';
import { UserError } from '../errors.js';

/** engines/torch (the directory holding the `dreamsweep_torch` package); DREAMSWEEP_TORCH_ENGINE overrides it. */
export function torchEngineDir(): string {
  return process.env['DREAMSWEEP_TORCH_ENGINE'] || fileURLToPath(new URL('../../engines/torch/', import.meta.url));
}

/**
 * How the environment is installed: `cuda` is pip's full resolution of pyproject.toml's dependencies (GPU
 * machines); `cpu` is requirements-cpu.txt with --no-deps (no triton, no cusolver: 1.2 GB less).
 */
export type TorchProfile = 'cuda' | 'cpu';
export const TORCH_PROFILES: readonly TorchProfile[] = ['cuda', 'cpu'];

/** The package version and run-time dependencies (pyproject.toml), and a hash of every pin (both profiles). */
export function torchEnginePins(): { version: string; dependencies: string[]; cpuRequirements: string; hash: string } {
  const path = join(torchEngineDir(), 'pyproject.toml');
  const text = readFileSync(path, 'utf8');
  const version = /^version\s*=\s*"([^"]+)"/m.exec(text)?.[1];
  const deps = /^dependencies\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1];
  if (!version || deps === undefined) throw new Error(`${path}: no [project] version or dependencies`);
  const dependencies = [...deps.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  const cpuRequirements = join(torchEngineDir(), 'requirements-cpu.txt');
  const hash = createHash('sha256')
    .update(`${version}\n${dependencies.join('\n')}\n${readFileSync(cpuRequirements, 'utf8')}`)
    .digest('hex')
    .slice(0, 10);
  return { version, dependencies, cpuRequirements, hash };
}

/** The virtual environment `npm run engines:torch` creates for a profile (it may not exist yet). */
export function torchVenvDir(profile: TorchProfile): string {
  const { version, hash } = torchEnginePins();
  return join(cacheDir(), 'engines', `torch-${version}-${hash}-${profile}`);
}

/** Written last by the installer: a venv without it is half-made. */
export const TORCH_VENV_COMPLETE = '.dreamsweep-complete';

export const TORCH_INSTALL_HINT = 'run `npm run engines:torch` (makes its Python environment from PyPI), or set DREAMSWEEP_TORCH_PYTHON to a Python with torch >= 2.0';

/** The Python to run the engine with; a UserError naming the fix when there is none. */
export function torchPython(option?: string): string {
  const explicit = option ?? (process.env['DREAMSWEEP_TORCH_PYTHON'] || undefined);
  if (explicit) return explicit;
  for (const profile of TORCH_PROFILES) {
    const dir = torchVenvDir(profile);
    if (existsSync(join(dir, TORCH_VENV_COMPLETE))) return join(dir, 'bin', 'python');
  }
  throw new UserError('E_TORCH_MISSING', `the torch engine is not installed (no ${torchVenvDir('cpu')} nor -cuda); ${TORCH_INSTALL_HINT}`);
}

/** Whether a Python for the engine is configured or installed (no process started). */
export function torchPythonAvailable(): boolean {
  try {
    torchPython();
    return true;
  } catch {
    return false;
  }
}

/** What the engine's Python can run on, asked of it in a child process: `torch 2.15.0: cuda:0 (NVIDIA H200)`. */
export async function probeTorch(): Promise<{ ok: boolean; device?: string; error?: string }> {
  let python: string;
  try {
    python = torchPython();
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  const env = { ...process.env, PYTHONPATH: [torchEngineDir(), process.env['PYTHONPATH']].filter(Boolean).join(':') };
  const { stdout, stderr } = await promisify(execFile)(python, ['-m', 'dreamsweep_torch', '--probe'], { env, timeout: 120_000 }).catch(
    (e: { stdout?: string; stderr?: string; message: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr || e.message }),
  );
  try {
    const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { ok: boolean; torch?: string; devices?: string[]; error?: string };
    return r.ok ? { ok: true, device: `torch ${r.torch}: ${r.devices!.join(', ')}` } : { ok: false, error: `${r.error}; ${TORCH_INSTALL_HINT}` };
  } catch {
    const why = stderr.trim().split('\n').at(-1) || 'no output';
    return { ok: false, error: `${python} -m dreamsweep_torch --probe failed (${why}); ${TORCH_INSTALL_HINT}` };
  }
}
