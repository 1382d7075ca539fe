// Which Temporal CLI the embedded default runs, so that a laptop without Go can run the demo. Looked for in
// this order, the first that works wins and is named: an explicit path (--temporal-bin or
// DREAMSWEEP_TEMPORAL_BIN), a `temporal` on PATH of a supported version, the build in dreamsweep's cache, a
// download through the Temporal SDK's own dev-server mechanism (where temporal.download answers), then
// `go install` of the pinned version. Tests do not come here: they always build the pinned version from Go.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../core/errors.js';
import { cacheDir } from '../core/cache-dir.js';
import { binaryPath, ensureBinary, TEMPORAL } from './binaries.js';

const run = promisify(execFile);

/** Oldest CLI whose `server start-dev` takes every flag infra/servers.ts passes (--ip, --db-filename, --headless, --ui-port). */
export const MIN_TEMPORAL_CLI = '1.0.0';

export type TemporalSource = 'flag' | 'env' | 'path' | 'cache' | 'sdk-download' | 'go-install';

export interface FoundTemporal {
  path: string;
  source: TemporalSource;
  version?: string;
}

export interface FindOptions {
  /** `--temporal-bin`: wins over everything, and is never silently passed over. */
  flag?: string;
  log?: (line: string) => void;
}

const SOURCE_WORDS: Record<TemporalSource, string> = {
  flag: 'from --temporal-bin',
  env: 'from DREAMSWEEP_TEMPORAL_BIN',
  path: 'the `temporal` on PATH',
  cache: "dreamsweep's cached build",
  'sdk-download': "downloaded through the Temporal SDK's dev-server mechanism",
  'go-install': 'built with go install',
};

export function describeSource(found: FoundTemporal): string {
  return `${found.path}${found.version ? ` (${found.version})` : ''}, ${SOURCE_WORDS[found.source]}`;
}

/**
 * `temporal --version` prints `temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)`; a CLI built from source
 * with `go install` says `0.0.0-DEV`.
 */
export function parseCliVersion(output: string): string | undefined {
  return /temporal version v?(\d+\.\d+\.\d+(?:-DEV)?)/.exec(output)?.[1];
}

/** A source build's `0.0.0-DEV` cannot be compared: it is taken as supported. */
export function versionAtLeast(version: string, min: string): boolean {
  if (version.endsWith('-DEV')) return true;
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

async function cliVersion(bin: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 15_000 });
    return parseCliVersion(stdout);
  } catch {
    return undefined;
  }
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

/** Where the SDK's download is kept: next to the Go builds, so one cache holds every server binary. */
export function sdkDownloadDir(): string {
  return path.join(cacheDir(), 'bin', 'temporal-sdk-download');
}

function downloaded(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const hit = readdirSync(dir)
    .filter((f) => f.startsWith('temporal') && !f.endsWith('.tmp'))
    .map((f) => path.join(dir, f))
    .find(isExecutableFile);
  return hit;
}

async function reachable(url: string): Promise<boolean> {
  try {
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(5_000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * The SDK downloads the CLI when it starts an ephemeral dev server; it keeps the file in `downloadDir`.
 * Starting (and at once stopping) one is the SDK's own, supported way to fetch it.
 */
async function sdkDownload(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir: dir }, ip: '127.0.0.1', ui: false },
  });
  await env.teardown();
  const file = downloaded(dir);
  if (!file) throw new Error(`the SDK started a dev server but left no temporal executable in ${dir}`);
  return file;
}

export async function findTemporal(opts: FindOptions = {}): Promise<FoundTemporal> {
  const env = process.env;
  const log = opts.log ?? (() => {});

  const explicit = opts.flag
    ? { file: opts.flag, source: 'flag' as const, what: '--temporal-bin' }
    : env.DREAMSWEEP_TEMPORAL_BIN
      ? { file: env.DREAMSWEEP_TEMPORAL_BIN, source: 'env' as const, what: 'DREAMSWEEP_TEMPORAL_BIN' }
      : undefined;
  if (explicit) {
    const file = path.resolve(explicit.file);
    if (!isExecutableFile(file))
      throw new UserError('E_TEMPORAL_BIN', `${explicit.what}: ${file} is not an executable file; point it at a Temporal CLI binary (\`temporal\`), or unset it`);
    const version = await cliVersion(file);
    if (!version) throw new UserError('E_TEMPORAL_BIN', `${explicit.what}: '${file} --version' did not print 'temporal version X.Y.Z'; is it the Temporal CLI?`);
    return { path: file, source: explicit.source, version };
  }

  const tried: string[] = [];
  const fromPath = onPath('temporal', env);
  if (fromPath) {
    const version = await cliVersion(fromPath);
    if (version && versionAtLeast(version, MIN_TEMPORAL_CLI)) return { path: fromPath, source: 'path', version };
    tried.push(`${fromPath} on PATH is ${version ? `version ${version}, older than ${MIN_TEMPORAL_CLI}` : 'not a Temporal CLI dreamsweep recognises'}`);
  } else tried.push('no `temporal` on PATH');

  const cached = binaryPath(TEMPORAL);
  if (isExecutableFile(cached)) return { path: cached, source: 'cache', version: TEMPORAL.version.replace(/^v/, '') };
  tried.push(`no cached build at ${cached}`);

  const dir = sdkDownloadDir();
  const earlier = downloaded(dir);
  if (earlier) return { path: earlier, source: 'sdk-download', version: await cliVersion(earlier) };
  if (env.DREAMSWEEP_TEMPORAL_DOWNLOAD === 'off') tried.push('download skipped (DREAMSWEEP_TEMPORAL_DOWNLOAD=off)');
  else if (!(await reachable('https://temporal.download/'))) tried.push('https://temporal.download is not reachable (no download)');
  else {
    log(`downloading the Temporal CLI through the Temporal SDK into ${dir} (first time only)`);
    try {
      const file = await sdkDownload(dir);
      return { path: file, source: 'sdk-download', version: await cliVersion(file) };
    } catch (e) {
      tried.push(`the SDK's download failed (${(e as Error).message.split('\n')[0]})`);
    }
  }

  let haveGo = false;
  try {
    await run('go', ['version'], { timeout: 15_000 });
    haveGo = true;
  } catch {
    tried.push("no Go toolchain ('go version' failed)");
  }
  if (haveGo) {
    try {
      return { path: await ensureBinary(TEMPORAL, log), source: 'go-install', version: TEMPORAL.version.replace(/^v/, '') };
    } catch (e) {
      tried.push((e as Error).message.split('\n')[0]!);
    }
  }

  throw new UserError(
    'E_NO_TEMPORAL',
    `no Temporal server to run: ${tried.join('; ')}. Any one of these fixes it:\n` +
      `  1. install the Temporal CLI >= ${MIN_TEMPORAL_CLI} (\`brew install temporal\`, or \`curl -sSf https://temporal.download/cli.sh | sh\`) and put it on PATH, or set DREAMSWEEP_TEMPORAL_BIN to it;\n` +
      `  2. use a Temporal server you already run: --temporal-address HOST:PORT or TEMPORAL_ADDRESS;\n` +
      `  3. install Go >= 1.25 (https://go.dev/dl): dreamsweep then builds temporal ${TEMPORAL.version} once ('npm run servers:build').`,
  );
}
