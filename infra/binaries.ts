// The Go programs the tests run (Temporal's dev server, the versitygw S3 server, kustomize for the
// Kubernetes manifests), built once from their Go modules into a cache outside the repo, keyed by version.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../core/cache-dir.js';
import { UserError } from '../core/errors.js';

export interface ServerBinary {
  name: 'temporal' | 'versitygw' | 'kustomize';
  /** Go package to `go install`. */
  module: string;
  version: string;
}

// temporal CLI: tags after v1.5.1 add a `replace` directive that `go install pkg@version` refuses.
export const TEMPORAL: ServerBinary = {
  name: 'temporal',
  module: 'github.com/temporalio/cli/cmd/temporal',
  version: 'v1.5.1',
};

export const VERSITYGW: ServerBinary = {
  name: 'versitygw',
  module: 'github.com/versity/versitygw/cmd/versitygw',
  version: 'v1.7.0',
};

// Renders infra/k8s as `kubectl kustomize` would (kubectl embeds the same library).
export const KUSTOMIZE: ServerBinary = {
  name: 'kustomize',
  module: 'sigs.k8s.io/kustomize/kustomize/v5',
  version: 'v5.8.0', // v5.8.2 and later need Go >= 1.26
};

export function binaryPath(bin: ServerBinary): string {
  return path.join(cacheDir(), 'bin', `${bin.name}-${bin.version}`, bin.name);
}

const run = promisify(execFile);

/** Path of the binary, building it with `go install` first if the cache lacks it. */
export async function ensureBinary(bin: ServerBinary, log: (line: string) => void = () => {}): Promise<string> {
  const target = binaryPath(bin);
  if (existsSync(target)) return target;

  try {
    await run('go', ['version']);
  } catch {
    throw new UserError(
      'E_NO_GO',
      `${bin.name} ${bin.version} is not built yet and no Go toolchain was found ('go version' failed). ` +
        `Install Go >= 1.25 (https://go.dev/dl; the servers' modules need it), then run 'npm run servers:build'.`,
    );
  }
  // Build into a scratch folder, then move into place: a half-built binary is never found in the cache.
  const scratch = `${path.dirname(target)}.building-${process.pid}`;
  mkdirSync(scratch, { recursive: true });
  log(`building ${bin.module}@${bin.version} into ${path.dirname(target)} (first time only; takes minutes)`);
  try {
    await run('go', ['install', `${bin.module}@${bin.version}`], {
      env: { ...process.env, GOBIN: scratch },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    const err = e as { code?: number; stderr?: string };
    const tail = (err.stderr ?? String(e)).trim().split('\n').slice(-15).join('\n');
    throw new UserError(
      'E_SERVER_BUILD',
      `building ${bin.module}@${bin.version} failed (go install exit ${err.code}):\n${tail}\n` +
        `Check that the Go module proxy is reachable (GOPROXY=${process.env.GOPROXY ?? 'default'}) and Go is >= 1.25, then run 'npm run servers:build'.`,
    );
  }
  mkdirSync(path.dirname(target), { recursive: true });
  renameSync(path.join(scratch, bin.name), target);
  rmSync(scratch, { recursive: true, force: true });
  return target;
}
