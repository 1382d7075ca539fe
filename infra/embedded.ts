// The embedded default: with no Temporal address configured, dreamsweep runs Temporal's dev server itself,
// its state in a SQLite file under the project's state directory (.dreamsweep/ in the working directory).
// A second dreamsweep command finds the running one through embedded.json instead of starting another.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { startTemporal } from './servers.js';
import { stateDir } from './state-dir.js';
import { describeSource, findTemporal } from './temporal-cli.js';

export interface EmbeddedTemporal {
  address: string;
  namespace: string;
  uiUrl?: string;
  /** True when this process started the server (and must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

async function answers(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ address, connectTimeout: 1_000 });
    try {
      await c.workflowService.getSystemInfo({});
      return true;
    } finally {
      await c.close();
    }
  } catch {
    return false;
  }
}

/** The embedded server a running dreamsweep command left in `dir`, if it still answers; never starts one. */
export async function runningEmbedded(dir = stateDir()): Promise<EmbeddedTemporal | undefined> {
  const marker = path.join(dir, 'embedded.json');
  if (!existsSync(marker)) return undefined;
  let known: { address: string; uiUrl?: string };
  try {
    known = JSON.parse(readFileSync(marker, 'utf8')) as { address: string; uiUrl?: string };
  } catch {
    known = { address: '' }; // half-written by a process that died
  }
  if (known.address && (await answers(known.address))) return { ...known, namespace: 'default', owned: false, stop: async () => {} };
  rmSync(marker, { force: true }); // left by a process that died
  return undefined;
}

export async function connectOrStartEmbedded(dir = stateDir(), opts: { temporalBin?: string } = {}): Promise<EmbeddedTemporal> {
  const running = await runningEmbedded(dir);
  if (running) return running;
  const log = (line: string) => process.stderr.write(`dreamsweep: ${line}\n`);
  const marker = path.join(dir, 'embedded.json');
  const cli = await findTemporal({ flag: opts.temporalBin, log });
  log(`Temporal server: ${describeSource(cli)}`);
  mkdirSync(dir, { recursive: true });
  const server = await startTemporal({
    bin: cli.path,
    dbFile: path.join(dir, 'temporal.sqlite'),
    logDir: path.join(dir, 'logs'),
    ui: true,
    log,
  });
  writeFileSync(marker, JSON.stringify({ address: server.address, uiUrl: server.uiUrl, pid: process.pid }));
  return {
    address: server.address,
    namespace: server.namespace,
    uiUrl: server.uiUrl,
    owned: true,
    stop: async () => {
      rmSync(marker, { force: true });
      await server.stop();
    },
  };
}
