// Runs one bad-input case: in this process through runCli (fast: the suite's 100+ cases share one tfjs
// load), or as a real child process for the few that install process-wide state. Output is captured.
import { execFile } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../cli/main.js';
import { BIN } from '../helpers/cli.js';
import type { BadCase } from './cases.js';

export interface CaseResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  before: string[];
  after: string[];
  dir: string;
}

/** Every path under `dir` with its type, size and content hash-ish (size + first bytes): what "changed" means here. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.push(`${path.relative(dir, p)}/ ${(st.mode & 0o777).toString(8)}`);
        try {
          walk(p);
        } catch {
          // unreadable: listed, not entered
        }
      } else out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs} ${st.isFile() ? readFileSync(p).subarray(0, 64).toString('hex') : ''}`);
    }
  };
  walk(dir);
  return out;
}

let queue = Promise.resolve();

async function inProcess(args: string[], env: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const exitCode = await runCli(args);
    return { exitCode, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function spawned(args: string[], env: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (e, stdout, stderr) => {
      resolve({ exitCode: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
    });
  });
}

export async function runCase(c: BadCase): Promise<CaseResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-bad-'));
  // In-process runs share process.env and stdio: one at a time.
  const result = new Promise<CaseResult>((resolve, reject) => {
    queue = queue.then(async () => {
      try {
        c.setup?.(dir);
        const args = c.args(dir);
        const before = snapshot(dir);
        const env = { DREAMSWEEP_STATE_DIR: path.join(dir, '.state'), TEMPORAL_ADDRESS: '', DREAMSWEEP_TEMPORAL_DOWNLOAD: 'off', ...c.env };
        const r = c.spawn ? await spawned(args, env) : await inProcess(args, env);
        resolve({ ...r, before, after: snapshot(dir), dir });
      } catch (e) {
        reject(e);
      }
    });
  });
  return result;
}

export function cleanUp(dir: string): void {
  const unlock = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (lstatSync(p).isDirectory()) {
        chmodSync(p, 0o755);
        unlock(p);
      }
    }
  };
  unlock(dir);
  rmSync(dir, { recursive: true, force: true });
}
