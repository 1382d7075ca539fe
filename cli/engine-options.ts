// One definition of the engine options of every command that loads a model: --engine, --dtype, --device.
import { Option, type Command } from 'commander';
import { ENGINES } from '../core/model/open-engine.js';
import { TORCH_DTYPES } from '../core/model/torch-env.js';

export interface EngineCliOptions {
  engine?: string;
  dtype?: string;
  device?: string;
}

export function addEngineOptions(command: Command): Command {
  return command
    .addOption(new Option('--engine <name>', 'tfjs, torch, or auto (torch where installed, else tfjs); else env DREAMSWEEP_ENGINE, else auto').choices([...ENGINES]))
    .addOption(new Option('--dtype <name>', 'torch engine: compute dtype (default bfloat16 on CUDA, float32 on the CPU)').choices([...TORCH_DTYPES]))
    .option('--device <name>', 'torch engine: auto, cpu, cuda or cuda:N (default auto)');
}
