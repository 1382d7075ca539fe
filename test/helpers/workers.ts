// Worker processes for integration tests: the real `dreamsweep worker` command, killable like a crash.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { BIN } from './cli.js';

export interface WorkerProcess {
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  /** kill -9: no drain, no checkpoint, as when a node dies. */
  crash(): Promise<void>;
  /** SIGTERM: the graceful drain an operator's scale-down sends. */
  stop(): Promise<void>;
}

export function startWorkerProcess(opts: { address: string; queues: string[]; logDir: string; name: string; env?: Record<string, string>; extra?: string[] }): WorkerProcess {
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = path.join(opts.logDir, `${opts.name}.log`);
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, [BIN, 'worker', '--temporal-address', opts.address, '--queues', opts.queues.join(','), ...(opts.extra ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    logFile,
    exited,
    crash: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
