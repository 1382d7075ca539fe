// A sweep survives its servers restarting: the Temporal server (same SQLite file, same port) and the S3
// server (same directory, same port) are both stopped and started again mid-sweep, and it completes.
import { afterAll, describe, expect, it } from 'vitest';
import { startS3, startTemporal } from '../../infra/servers.js';
import { runCli } from '../helpers/cli.js';
import { portOf, sharedView, startTestServers, type TestServers } from '../helpers/servers.js';
import { createBucket, MODEL, s3Env, waitFor, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';
import path from 'node:path';

let own: TestServers | undefined;
const restarted: Array<{ stop(): Promise<void> }> = [];
let worker: WorkerProcess | undefined;
afterAll(async () => {
  await worker?.crash();
  await Promise.all(restarted.map((s) => s.stop()));
  await own?.stop();
});

describe('sweep and server restarts', () => {
  it('completes when the Temporal and S3 servers restart mid-sweep', async () => {
    own = await startTestServers('restart');
    const shared = sharedView(own);
    await createBucket(shared, 'restart');
    const sweep = writeSweep(shared, 'restart', 'run', {
      name: 'restart',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 4, seed: 0 }, seqLen: 6 },
      methods: { epo: { iters: 80, population: 4, children: 16, topk: 16, checkpointEvery: 10 } },
      temporal: { heartbeatTimeout: 5 },
      concurrency: { units: 1 },
    });
    const env = s3Env(shared);
    worker = startWorkerProcess({ address: shared.temporalAddress, queues: [sweep.queues.model, sweep.queues.aux], logDir: own.logDir, name: 'worker', env });
    const launched = await runCli(['sweep', 'launch', sweep.file], env);
    expect(launched.code, launched.stderr).toBe(0);
    const results = async () => (await sweep.store.list('units/epo/')).filter((k) => k.endsWith('/result.json')).length;
    await waitFor('a first finished unit', async () => (await results()) >= 1);

    // Both servers go away together and come back on the same ports with the same state.
    const temporalPort = portOf(own.temporal.address);
    const s3Port = portOf(own.s3.endpoint);
    await Promise.all([own.temporal.stop(), own.s3.stop()]);
    expect(await results().catch(() => -1)).toBe(-1); // S3 is really down
    await new Promise((r) => setTimeout(r, 2_000));
    const [t2, s2] = await Promise.all([
      startTemporal({ dbFile: path.join(own.dir, 'temporal.sqlite'), logDir: own.logDir, port: temporalPort }),
      startS3({ root: own.s3.root, logDir: own.logDir, port: s3Port, accessKeyId: own.s3.accessKeyId, secretAccessKey: own.s3.secretAccessKey }),
    ]);
    restarted.push(t2, s2);

    const waited = await runCli(['sweep', 'launch', sweep.file, '--wait'], env); // follows the sweep to its end
    expect(waited.code, waited.stderr).toBe(0);
    expect(await results()).toBe(4);
  });
});
