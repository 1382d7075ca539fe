// `npm run engines:torch [-- --profile cpu|cuda] [--python python3]`: makes the torch engine's virtual environment
// from PyPI under the cache directory (core/model/torch-env.ts names it by version and pins), once. The profile
// defaults to cuda where nvidia-smi answers, else cpu. Prints the Python to use.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TORCH_VENV_COMPLETE, torchEnginePins, torchVenvDir, type TorchProfile } from '../core/model/torch-env.js';

const { values: args } = parseArgs({ options: { profile: { type: 'string' }, python: { type: 'string', default: 'python3' } } });

function fail(line: string): never {
  process.stderr.write(`engines:torch: ${line}\n`);
  process.exit(2);
}

const hasGpu = spawnSync('nvidia-smi', ['-L'], { stdio: 'ignore' }).status === 0;
const profile = (args.profile ?? (hasGpu ? 'cuda' : 'cpu')) as TorchProfile;
if (profile !== 'cuda' && profile !== 'cpu') fail(`--profile: expected cuda or cpu, got "${args.profile}"`);

const dir = torchVenvDir(profile);
const python = join(dir, 'bin', 'python');
if (existsSync(join(dir, TORCH_VENV_COMPLETE))) {
  process.stdout.write(`${python}\n`);
  process.exit(0);
}

const version = spawnSync(args.python, ['-c', 'import sys, venv, ensurepip; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
if (version.status !== 0) {
  fail(`${args.python} with the venv module is needed (Debian: apt-get install python3 python3-venv), or pass --python PATH`);
}
const [major, minor] = version.stdout.trim().split('.').map(Number);
if (major! < 3 || (major === 3 && minor! < 9)) fail(`${args.python} is Python ${version.stdout.trim()}; the engine needs >= 3.9`);

const { dependencies, cpuRequirements } = torchEnginePins();
const t0 = Date.now();
rmSync(dir, { recursive: true, force: true }); // a half-made one from an interrupted install
const run = (cmd: string, argv: string[]) => execFileSync(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
try {
  run(args.python, ['-m', 'venv', dir]);
  const pip = [python, '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet'];
  if (profile === 'cpu') run(pip[0]!, [...pip.slice(1), '--no-deps', '-r', cpuRequirements]);
  else run(pip[0]!, [...pip.slice(1), ...dependencies]);
  run(python, ['-c', 'import torch, safetensors, numpy']);
} catch {
  rmSync(dir, { recursive: true, force: true });
  fail(`installing the ${profile} environment into ${dir} failed (see pip's message above)`);
}
writeFileSync(join(dir, TORCH_VENV_COMPLETE), `${new Date().toISOString()}\n`);
process.stderr.write(`engines:torch: ${profile} environment ready in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
process.stdout.write(`${python}\n`);
