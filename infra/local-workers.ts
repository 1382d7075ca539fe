// The embedded default's workers: the aux queue (workflow tasks, plans, merges) in this process, the model
// queue in child `dreamsweep worker` processes sized to the machine, so that model compute never blocks
// workflow tasks. `dreamsweep sweep launch|resume` starts them when no Temporal address is configured.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestedBackend } from '../core/model/backend.js';
import type { SweepSpec } from '../core/sweep/spec.js';
import type { TemporalTarget } from '../workers/connection.js';
import { runWorker } from '../workers/worker.js';
import { stateDir } from './state-dir.js';

/**
 * How many model worker processes the embedded default starts. wasm and cpu compute on one core per
 * process, so one per core pays, up to the units the sweep runs at once and to what half the memory holds
 * (each process loads the model: about 3 bytes of memory per byte of weights on disk, fp16 widened to
 * float32 plus the working copy). webgpu and tensorflow already use the whole machine: one process.
 */
export function localWorkerCount(
  spec: SweepSpec,
  backend: string | undefined,
  machine: { cores: number; memoryBytes: number } = { cores: availableParallelism(), memoryBytes: totalmem() },
): number {
  const effective = requestedBackend(backend) ?? spec.model.backend ?? 'wasm';
  if (effective !== 'wasm' && effective !== 'cpu') return 1;
  const weights = spec.model.path.startsWith('s3://') ? undefined : weightBytes(spec.model.path);
  if (weights === undefined) return 1;
  const byMemory = Math.floor(machine.memoryBytes / 2 / Math.max(1, 3 * weights));
  return Math.max(1, Math.min(machine.cores, spec.concurrency.units, byMemory));
}

function weightBytes(dir: string): number | undefined {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.safetensors'))
      .reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
  } catch {
    return undefined;
  }
}

/**
 * Workers for the embedded default: the aux queue (workflow tasks, plans, merges) in this process, the
 * model queue in child `dreamsweep worker` processes, so that model compute never blocks workflow tasks.
 */
export function startLocalWorkers(target: TemporalTarget, spec: SweepSpec, options: { backend?: string; workers?: number }): { stop(): Promise<void> } {
  const ctl = new AbortController();
  const logDir = path.join(stateDir(), 'logs');
  mkdirSync(logDir, { recursive: true });
  // The SDK's warnings (a failed activity's stack, for one) go to the log: the CLI shows the root cause once.
  const aux = runWorker({ temporal: target, queues: [spec.temporal.taskQueues.aux], log: () => {}, sdkLogFile: path.join(logDir, 'aux-worker.log') }, ctl.signal);
  const bin = fileURLToPath(new URL('../bin/dreamsweep.js', import.meta.url));
  const args = [bin, 'worker', '--temporal-address', target.address!, '--namespace', target.namespace, '--queues', spec.temporal.taskQueues.model];
  if (options.backend) args.push('--backend', options.backend);
  if (spec.concurrency.perWorker) args.push('--concurrency', String(spec.concurrency.perWorker));
  const count = options.workers ?? localWorkerCount(spec, options.backend);
  // The cores left over when fewer workers than cores run (a sweep of few units): each unit uses its share.
  args.push('--threads', String(Math.max(1, Math.floor(availableParallelism() / (count * (spec.concurrency.perWorker ?? 1))))));
  process.stderr.write(`dreamsweep: ${count} local model worker${count > 1 ? 's' : ''} (logs in ${logDir})\n`);
  const children = Array.from({ length: count }, (_, i) => {
    const fd = openSync(path.join(logDir, `model-worker-${i}.log`), 'a');
    const child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    return { child, exited: new Promise<void>((resolve) => child.once('exit', () => resolve())) };
  });
  return {
    stop: async () => {
      ctl.abort();
      for (const c of children) c.child.kill('SIGTERM');
      await Promise.all([aux, ...children.map((c) => c.exited)]);
    },
  };
}
