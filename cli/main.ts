// The dreamsweep CLI: one subcommand per file, registered here. User mistakes print one clear line, exit 2;
// bugs one line and where the full report is (cli/failure.ts). `runCli` runs one command line in this
// process and returns its exit code (the bad-input suite calls it directly); bin/dreamsweep.js exits with it.
import { Command, CommanderError } from 'commander';
import { ending } from './failure.js';
import { registerBackends } from './backends.js';
import { registerBaseline } from './baseline.js';
import { registerEpo } from './epo.js';
import { registerInspect } from './inspect.js';
import { registerReport } from './report.js';
import { registerScan } from './scan.js';
import { registerSweep } from './sweep.js';
import { registerWorker } from './worker.js';

// Subcommands register themselves here, one module each (inspect, epo, baseline, scan, sweep, worker, report, backends).
const registrations: Array<(p: Command) => void> = [registerEpo, registerInspect, registerBaseline, registerScan, registerSweep, registerWorker, registerReport, registerBackends];

export function buildProgram(): Command {
  const program = new Command('dreamsweep')
    .description('Fluent dreaming for language models: EPO sweeps, baselines and z-score reports')
    // One line after a usage mistake, not the whole help: epo alone has some forty options.
    .showHelpAfterError('(add --help to list the options)')
    // Commander prints its own message; a usage mistake exits 2 like every other user mistake.
    .exitOverride();
  for (const register of registrations) register(program);
  return program;
}

/** Runs `args` (without node and the script); returns the exit code after printing any error's one line. */
export async function runCli(args: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const end = ending(e);
    process.stderr.write(`${end.line}\n`);
    return end.exitCode;
  }
}
