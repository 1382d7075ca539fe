// The dreamsweep CLI: one subcommand per file, registered here. User mistakes print one clear line, exit 2;
// bugs one line and where the full report is (cli/failure.ts).
import { Command, CommanderError } from 'commander';
import { exitOnError } from './failure.js';
import { registerBackends } from './backends.js';
import { registerBaseline } from './baseline.js';
import { registerEpo } from './epo.js';
import { registerInspect } from './inspect.js';
import { registerReport } from './report.js';
import { registerScan } from './scan.js';
import { registerSweep } from './sweep.js';
import { registerWorker } from './worker.js';

const program = new Command('dreamsweep')
  .description('Fluent dreaming for language models: EPO sweeps, baselines and z-score reports')
  .showHelpAfterError()
  // Commander prints its own message; a usage mistake exits 2 like every other user mistake.
  .exitOverride();

// Subcommands register themselves here, one module each (inspect, epo, baseline, scan, sweep, worker, report, backends).
const registrations: Array<(p: Command) => void> = [
  registerEpo,
  registerInspect,
  registerBaseline,
  registerScan,
  registerSweep,
  registerWorker,
  registerReport,
  registerBackends,
];

for (const register of registrations) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  exitOnError(e);
}
