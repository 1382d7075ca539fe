// How the CLI ends on an error. A user mistake (UserError) or a fault of the environment (a path that
// cannot be read or written, a server that does not answer, refused credentials) is one line and exit 2.
// Anything else is a bug: one line saying where the full report was written, exit 1, never a stack or the
// source line of whichever library rethrew it (tfjs-wasm's handlers rethrow, and Node prints its
// minified source).
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isUserError } from '../core/errors.js';
import { stateDir } from '../infra/state-dir.js';

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory, where a file was expected',
  EEXIST: 'it already exists',
  EROFS: 'the filesystem is read-only',
  ENOSPC: 'no space left on the device',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
};
const NET_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);
// S3 answers that a user fixes (credentials, bucket, permissions), by the SDK's error name.
const S3_REFUSALS: Record<string, string> = {
  InvalidAccessKeyId: 'the access key is not known to the server',
  SignatureDoesNotMatch: 'the secret key is wrong',
  AccessDenied: 'permission denied',
  NoSuchBucket: 'the bucket does not exist',
  InvalidBucketName: 'the bucket name is invalid',
  PermanentRedirect: 'the bucket is in another region or endpoint',
};

export interface Explained {
  code: string;
  message: string;
}

type ErrorLike = Error & {
  code?: unknown;
  syscall?: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
  hostname?: string;
  $metadata?: unknown;
  errors?: unknown[];
};

/** The user-facing line for an error that is not a bug, or undefined when it is one. */
export function explain(e: unknown): Explained | undefined {
  if (isUserError(e)) return { code: e.code, message: e.message };
  if (!(e instanceof Error)) return undefined;
  const err = e as ErrorLike;
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (code && FS_REASONS[code] && err.path) {
    const reason = code === 'EEXIST' && err.syscall === 'mkdir' ? 'a file of that name is in the way of a directory' : FS_REASONS[code];
    return { code: 'E_FS', message: `cannot ${err.syscall ?? 'use'} ${err.path}${err.dest ? ` -> ${err.dest}` : ''}: ${reason}` };
  }
  // AggregateError (happy eyeballs) carries the per-address errors.
  const net = code && NET_CODES.has(code) ? err : (err.errors?.find((x) => NET_CODES.has(String((x as ErrorLike).code))) as ErrorLike | undefined);
  if (net) {
    const where = net.address ? `${net.address}${net.port ? `:${net.port}` : ''}` : (net.hostname ?? 'the server');
    return { code: 'E_UNREACHABLE', message: `cannot reach ${where} (${String(net.code)}); is the server running, and is the address right?` };
  }
  if (err.$metadata && S3_REFUSALS[err.name]) return { code: 'E_S3_REFUSED', message: `S3 refused the request: ${S3_REFUSALS[err.name]} (${err.name}: ${err.message})` };
  if (err.name === 'TransportError' || /Failed to call GetSystemInfo|tcp connect error|Connection refused/i.test(err.message)) {
    return { code: 'E_TEMPORAL_CONNECT', message: `cannot reach Temporal (${firstLine(err.message)}); check --temporal-address / TEMPORAL_ADDRESS` };
  }
  if (err.cause) return explain(err.cause);
  return undefined;
}

function firstLine(s: string, max = 300): string {
  const line = s.split('\n')[0]!.trim();
  return line.length > max ? `${line.slice(0, max)}...` : line;
}

function describeFully(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 10; depth++) {
    parts.push(cur instanceof Error ? (cur.stack ?? `${cur.name}: ${cur.message}`) : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
    if (cur !== undefined) parts.push('caused by:');
  }
  return parts.join('\n');
}

/** Writes the whole error to a log file; returns its path. */
function writeCrashLog(e: unknown): string {
  const name = `crash-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`;
  const body = `dreamsweep ${process.argv.slice(2).join(' ')}\nnode ${process.version} ${process.platform}-${process.arch}\n\n${describeFully(e)}\n`;
  for (const dir of [path.join(stateDir(), 'logs'), tmpdir()]) {
    try {
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, name);
      writeFileSync(file, body);
      return file;
    } catch {
      // try the next place
    }
  }
  return '(could not write a log file)';
}

/** The CLI's last line for an error, and its exit code (a bug's full report goes to a log file first). */
export function ending(e: unknown): { line: string; exitCode: number } {
  const known = explain(e);
  if (known) return { line: `dreamsweep: ${known.message} [${known.code}]`, exitCode: 2 };
  const file = writeCrashLog(e);
  const head = e instanceof Error ? `${e.name}: ${firstLine(e.message)}` : firstLine(String(e));
  return { line: `dreamsweep: internal error (a bug, not your input): ${head}. Full report: ${file}`, exitCode: 1 };
}

/** Prints the error as the process's last word and exits; never returns. */
export function exitOnError(e: unknown): never {
  const end = ending(e);
  process.stderr.write(`${end.line}\n`);
  process.exit(end.exitCode);
}

/** Before anything else loads: ours run first, so a library's rethrowing handler never prints its source. */
export function installExitHandlers(): void {
  process.on('uncaughtException', exitOnError);
  process.on('unhandledRejection', exitOnError);
}
