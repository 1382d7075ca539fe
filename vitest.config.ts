// Two projects: fast unit tests, and integration tests against real Temporal and S3 servers that
// test/integration/global-setup.ts builds (once, cached) and starts for the whole run.
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// The engine every test runs on unless it names one: tfjs, whose numbers and error codes the tests were written
// against. The default, auto, picks torch wherever its Python environment is installed (as on CI), so tests of the
// torch engine say `engine: 'torch'` and tests of auto's choice set or delete DREAMSWEEP_ENGINE themselves.
const env = { DREAMSWEEP_ENGINE: 'tfjs' };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          env,
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
          testTimeout: 60_000,
          // Hooks load models and measure them like tests do (vitest's default is 10 s).
          hookTimeout: 60_000,
          // Vitest's default, a worker fewer than the cores, is one worker on CI's 2 cores; many unit files
          // mostly wait on the processes they start (the CLI, tsc, backend probes), so two share 2 cores well.
          maxWorkers: Math.max(2, availableParallelism() - 1),
        },
      },
      {
        test: {
          name: 'integration',
          env,
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Integration tests share one Temporal and one S3 server; run files one at a time on 2 cores
          // (after the unit files: their workers' heartbeats and query latencies need the cores).
          fileParallelism: false,
        },
      },
    ],
  },
});
