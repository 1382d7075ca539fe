// One definition of the engine options of every command that loads a model: --engine, --dtype, --device.
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { Option, type Command } from 'commander';
import { BACKENDS, ENGINES, TORCH_DTYPES } from '../core/model/names.js';
import { autoEngine, requestedEngine } from '../core/model/open-engine.js';
import { TORCH_INSTALL_HINT, torchPython } from '../core/model/torch-env.js';
import { UserError } from '../core/errors.js';

export interface EngineCliOptions {
  engine?: string;
  dtype?: string;
  device?: string;
}

/** --backend, the tfjs backend: its choices from the one list (core/model/names.ts). */
export function backendOption(description = 'tfjs backend'): Option {
  return new Option('--backend <name>', description).choices([...BACKENDS]);
}

export function addEngineOptions(command: Command): Command {
  return command
    .addOption(new Option('--engine <name>', 'tfjs, torch, or auto (torch where installed, else tfjs); else env DREAMSWEEP_ENGINE, else auto').choices([...ENGINES]))
    .addOption(new Option('--dtype <name>', 'torch engine: compute dtype (default bfloat16 on CUDA, float32 on the CPU)').choices([...TORCH_DTYPES]))
    .option('--device <name>', 'torch engine: auto, cpu, cuda or cuda:N (default auto)')
    .hook('preAction', async (cmd) => {
      const o = cmd.opts<EngineCliOptions & { threads?: number | string; backend?: string }>();
      checkEngineOptions(o);
      capThreads(cmd, o.threads);
      await checkTorchPython(o);
    });
}

/**
 * More engine threads than cores only divides the same cores, each thread with its own copy of the model (a
 * heap out of memory at 100000): capped at the cores this process may use, and said so.
 */
export function capThreads(cmd: Command, threads: number | string | undefined): void {
  const n = Number(threads);
  const cap = availableParallelism();
  if (threads === undefined || !Number.isInteger(n) || n <= cap) return;
  cmd.setOptionValue('threads', typeof threads === 'string' ? String(cap) : cap);
  process.stderr.write(`dreamsweep: --threads ${n} is more than the ${cap} cores this process may use; using ${cap}\n`);
}

/** With the torch engine: its Python must be one (a DREAMSWEEP_TORCH_PYTHON that is not fails here, named, not as a crash). */
export async function checkTorchPython(o: EngineCliOptions): Promise<void> {
  if (requestedEngine(o.engine) !== 'torch') return; // auto picks torch only where its Python is found
  const python = torchPython();
  const from = process.env['DREAMSWEEP_TORCH_PYTHON'] ? ' (DREAMSWEEP_TORCH_PYTHON)' : '';
  const out = await promisify(execFile)(python, ['-c', 'import sys; print(sys.version_info[0])'], { timeout: 60_000 }).catch((e: Error) => ({ stdout: '', error: e }));
  if (out.stdout.trim() !== '3') {
    const why = 'error' in out ? ((out.error as NodeJS.ErrnoException).code ?? out.error.message.split('\n')[0]) : `it printed ${JSON.stringify(out.stdout.trim().slice(0, 60))}`;
    throw new UserError('E_TORCH_PYTHON', `${python}${from}: not a Python 3 interpreter (${why}); ${TORCH_INSTALL_HINT}`);
  }
}

/** Device names the torch engine takes. */
const DEVICE = /^(auto|cpu|cuda(:\d+)?)$/;

/**
 * Refuses engine options that would be ignored or cannot work, before anything loads: --dtype or --device where
 * the engine is tfjs (they are torch's; tfjs has --backend): tfjs by name (--engine, DREAMSWEEP_ENGINE), or auto
 * (the default) where it picks tfjs on this machine (torch not installed, or a tfjs backend named); and a device
 * name torch does not know (`gpu`).
 */
export function checkEngineOptions(o: EngineCliOptions & { backend?: string }): void {
  const given = [o.dtype !== undefined && '--dtype', o.device !== undefined && '--device'].filter(Boolean);
  if (given.length) {
    const name = requestedEngine(o.engine);
    const auto = name === 'auto' ? autoEngine(o.backend) : undefined;
    if ((auto?.engine ?? name) === 'tfjs') {
      const named = o.engine !== undefined ? `--engine ${name}` : process.env['DREAMSWEEP_ENGINE'] ? `DREAMSWEEP_ENGINE=${name}` : `${name} (the default)`;
      const from = auto ? `${named}, which picks tfjs here: ${auto.why}` : named;
      throw new UserError(
        'E_CLI_CONFLICT',
        `${given.join(' and ')}: options of the torch engine, but the engine is ${from}; use --engine torch where it is installed, or drop them (tfjs chooses its hardware with --backend)`,
      );
    }
  }
  if (o.device !== undefined && !DEVICE.test(o.device)) {
    throw new UserError('E_TORCH_DEVICE', `--device: expected auto, cpu, cuda or cuda:N, got "${o.device}"`);
  }
}
