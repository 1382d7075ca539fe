// The dreamsweep CLI: one subcommand per file, registered here. User mistakes print one clear line, exit 2;
// bugs one line and where the full report is (cli/failure.ts). `runCli` runs one command line in this
// process and returns its exit code (the bad-input suite calls it directly); bin/dreamsweep.js exits with it.
import { Command, CommanderError } from 'commander';
import { ending } from './failure.js';

type Register = (p: Command) => void;

// Subcommands register themselves here, one module each, in the order the help lists them. Each is imported only
// when it runs (or for the help): their libraries (tfjs, the Temporal client and worker, the S3 client) take
// seconds to load, and `dreamsweep epo` needs none of the sweep's.
const SUBCOMMANDS: Record<string, () => Promise<Register>> = {
  epo: async () => (await import('./epo.js')).registerEpo,
  inspect: async () => (await import('./inspect.js')).registerInspect,
  baseline: async () => (await import('./baseline.js')).registerBaseline,
  scan: async () => (await import('./scan.js')).registerScan,
  sweep: async () => (await import('./sweep.js')).registerSweep,
  worker: async () => (await import('./worker.js')).registerWorker,
  report: async () => (await import('./report.js')).registerReport,
  export: async () => (await import('./export.js')).registerExport,
  backends: async () => (await import('./backends.js')).registerBackends,
};

/** The program with the subcommand `args` names registered, or every subcommand (help, a mistyped name). */
export async function buildProgram(args: string[] = []): Promise<Command> {
  const program = new Command('dreamsweep')
    .description('Fluent dreaming for language models: EPO sweeps, baselines and z-score reports')
    // A usage mistake (unknown option, missing argument) is one line with its code like every other refusal,
    // not the whole help (epo alone has some forty options), and exits 2.
    .configureOutput({
      outputError: (str, write) =>
        write(
          `dreamsweep: ${str
            .trim()
            .replace(/^error: /, '')
            .replace(/\s*\n\s*/g, ' ')}; add --help to list the options [E_CLI_USAGE]\n`,
        ),
    })
    .exitOverride();
  const named = args[0] !== undefined && Object.hasOwn(SUBCOMMANDS, args[0]) ? [args[0]] : Object.keys(SUBCOMMANDS);
  for (const register of await Promise.all(named.map((name) => SUBCOMMANDS[name]!()))) register(program);
  return program;
}

/** Runs `args` (without node and the script); returns the exit code after printing any error's one line. */
export async function runCli(args: string[]): Promise<number> {
  try {
    await (await buildProgram(args)).parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const end = ending(e);
    process.stderr.write(`${end.line}\n`);
    return end.exitCode;
  }
}
