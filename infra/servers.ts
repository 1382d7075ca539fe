// Start and stop the real servers dreamsweep talks to: Temporal's dev server (SQLite file) and versitygw
// (S3 over a posix directory). Each runs on free loopback ports, is polled until it answers, logs to a
// file that outlives it (for a failing test), and stops with SIGTERM, then SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { UserError } from '../core/errors.js';
import { ensureBinary, TEMPORAL, VERSITYGW } from './binaries.js';

export interface RunningServer {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** True until the process has exited. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface TemporalServer extends RunningServer {
  /** gRPC address, `127.0.0.1:port`. */
  readonly address: string;
  readonly namespace: string;
  readonly uiUrl?: string;
}

export interface S3Server extends RunningServer {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly root: string;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface TemporalOptions {
  /** SQLite file: the server's whole state. Reusing it after a restart keeps every workflow. */
  dbFile: string;
  logDir: string;
  port?: number;
  /** Serve the web UI (port + 1000 by default); off for tests. */
  ui?: boolean;
  namespace?: string;
  readyTimeoutMs?: number;
  /** Told about a first-time build of the server binary (minutes). */
  log?: (line: string) => void;
  /** The CLI to run; default: the pinned version, built from Go (what the tests use). */
  bin?: string;
}

export async function startTemporal(opts: TemporalOptions): Promise<TemporalServer> {
  const bin = opts.bin ?? (await ensureBinary(TEMPORAL, opts.log));
  const namespace = opts.namespace ?? 'default';
  mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
  return withPortRetries('temporal', opts.port, async (port) => {
    const uiPort = port + 1000;
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', opts.dbFile];
    args.push(...(opts.ui ? ['--ui-port', String(uiPort)] : ['--headless']));
    if (namespace !== 'default') args.push('--namespace', namespace);
    const proc = launch('temporal', bin, args, opts.logDir);
    const address = `127.0.0.1:${port}`;
    await waitUntil(proc, opts.readyTimeoutMs ?? 60_000, async () => {
      const conn = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await conn.workflowService.describeNamespace({ namespace });
      } finally {
        await conn.close();
      }
    });
    return { ...proc.handle, address, namespace, uiUrl: opts.ui ? `http://127.0.0.1:${uiPort}` : undefined };
  });
}

export interface S3Options {
  /** Directory holding one sub-directory per bucket. */
  root: string;
  logDir: string;
  port?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
  readyTimeoutMs?: number;
}

export async function startS3(opts: S3Options): Promise<S3Server> {
  const bin = await ensureBinary(VERSITYGW);
  const accessKeyId = opts.accessKeyId ?? 'dreamsweep';
  const secretAccessKey = opts.secretAccessKey ?? 'dreamsweep-secret';
  const root = path.resolve(opts.root);
  // Metadata in a sidecar directory: posix xattrs are missing on some filesystems (overlay, tmpfs).
  // versitygw rejects a sidecar whose path starts with the root's, so it gets a name that cannot.
  const sidecar = path.join(path.dirname(root), `.meta-${path.basename(root)}`);
  mkdirSync(root, { recursive: true });
  mkdirSync(sidecar, { recursive: true });
  return withPortRetries('versitygw', opts.port, async (port) => {
    const args = ['--port', `127.0.0.1:${port}`, '--access', accessKeyId, '--secret', secretAccessKey, '--quiet'];
    args.push('posix', '--sidecar', sidecar, root);
    const proc = launch('versitygw', bin, args, opts.logDir);
    const endpoint = `http://127.0.0.1:${port}`;
    // Any HTTP answer (403 for an unsigned request) means it is serving.
    await waitUntil(proc, opts.readyTimeoutMs ?? 30_000, async () => {
      await fetch(endpoint, { signal: AbortSignal.timeout(1_000) });
    });
    return { ...proc.handle, endpoint, accessKeyId, secretAccessKey, region: 'us-east-1', root };
  });
}

interface Launched {
  child: ChildProcess;
  exited: Promise<number | null>;
  handle: RunningServer;
}

function launch(name: string, bin: string, args: string[], logDir: string): Launched {
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${name}.log`);
  lastLogs.set(name, logFile);
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? (signal ? -1 : null));
    });
    child.on('error', () => {
      done = true;
      resolve(-1);
    });
  });
  const stop = async (graceMs = 10_000) => {
    if (done) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const handle: RunningServer = { name, pid: child.pid ?? -1, logFile, alive: () => !done, stop };
  return { child, exited, handle };
}

class ServerExited extends Error {}

// Last log file per server name in this process, for error messages.
const lastLogs = new Map<string, string>();

async function waitUntil(proc: Launched, timeoutMs: number, probe: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!proc.handle.alive()) throw new ServerExited(`${proc.handle.name} exited during start-up`);
    try {
      await probe();
      return;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await proc.handle.stop(2_000);
  throw new UserError(
    'E_SERVER_START',
    `${proc.handle.name} did not answer within ${timeoutMs / 1000}s (last error: ${String(lastError)}).\n` +
      `Its log ends:\n${logTail(proc.handle.logFile)}\nFull log: ${proc.handle.logFile}`,
  );
}

/** Runs `start` on a free port (or the one asked for); on a port clash, tries fresh ports twice more. */
async function withPortRetries<T>(name: string, fixed: number | undefined, start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = fixed ?? (await freePort());
    try {
      return await start(port);
    } catch (e) {
      if (!(e instanceof ServerExited)) throw e;
      const clash = /address already in use|bind:/i.test(e.message + logTailOf(name));
      if (clash && fixed === undefined && attempt < 3) continue;
      throw new UserError(
        clash ? 'E_PORT_IN_USE' : 'E_SERVER_START',
        clash
          ? `${name} could not listen on 127.0.0.1:${port}: the port is in use. ` +
              (fixed ? 'Choose another port, or stop whatever holds it (`ss -ltnp`).' : 'Retried with fresh ports and failed.')
          : `${name} exited during start-up. Its log ends:\n${logTailOf(name)}\nFull log: ${lastLogs.get(name)}`,
      );
    }
  }
}

function logTailOf(name: string): string {
  const file = lastLogs.get(name);
  return file ? logTail(file) : '';
}

export function logTail(file: string, lines = 20): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
