// One sweep through the faults a cluster meets, in turn: a worker killed with kill -9 mid-EPO, the Temporal
// server stopped and restarted, the S3 server stopped and restarted. It must finish with every result
// artifact byte-identical to a clean run's, and count every unit as run by this sweep (none "already done").
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { startS3, startTemporal } from '../../infra/servers.js';
import { runCli } from '../helpers/cli.js';
import { portOf, sharedView, startTestServers, type TestServers } from '../helpers/servers.js';
import { createBucket, MODEL, resultArtifacts, s3Env, waitFor, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';

let own: TestServers | undefined;
const restarted: Array<{ stop(): Promise<void> }> = [];
const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.crash()));
  await Promise.all(restarted.map((s) => s.stop()));
  await own?.stop();
});

describe('fault injection', () => {
  it('survives kill -9, a Temporal restart and an S3 restart with artifacts equal to a clean run', { timeout: 480_000 }, async () => {
    const step = (what: string) => process.stderr.write(`fault-injection: ${what}\n`);
    own = await startTestServers('faults');
    const shared = sharedView(own);
    const env = s3Env(shared);
    await createBucket(shared, 'faults');
    const study = {
      name: 'faults',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 2, seed: 0 }, seqLen: 6 },
      methods: { random: { prompts: 16, seed: 0, batchSize: 16 }, epo: { iters: 80, population: 4, children: 16, topk: 16, checkpointEvery: 10 } },
      temporal: { heartbeatTimeout: 3 },
      concurrency: { units: 2 },
    };
    const spawn = (queues: { model: string; aux: string }, name: string) => {
      const w = startWorkerProcess({ address: shared.temporalAddress, queues: [queues.model, queues.aux], logDir: own!.logDir, name, env });
      workers.push(w);
      return w;
    };

    const clean = writeSweep(shared, 'faults', 'clean', study);
    const cleanWorker = spawn(clean.queues, 'clean');
    const cleanRun = await runCli(['sweep', 'launch', clean.file, '--wait'], env);
    expect(cleanRun.code, cleanRun.stderr).toBe(0);
    await cleanWorker.stop();
    step('clean run done');

    const faulty = writeSweep(shared, 'faults', 'faulty', study);
    const first = spawn(faulty.queues, 'worker-1');
    const launched = await runCli(['sweep', 'launch', faulty.file], env);
    expect(launched.code, launched.stderr).toBe(0);
    const sweepId = launched.stdout.trim();
    const results = async () => (await faulty.store.list('units/')).filter((k) => k.endsWith('/result.json')).length;

    // 1. kill -9 once an EPO unit has checkpointed; a fresh worker takes over.
    await waitFor('a checkpoint', async () => (await faulty.store.list('units/epo/')).find((k) => k.endsWith('checkpoint.safetensors')));
    await first.crash();
    step('worker-1 killed mid-EPO');
    spawn(faulty.queues, 'worker-2');

    // 2. Temporal stops and comes back on its port with its SQLite state.
    const before = await results();
    await waitFor('another finished unit', async () => (await results()) > before);
    await own.temporal.stop();
    await new Promise((r) => setTimeout(r, 3_000));
    const t2 = await startTemporal({ dbFile: path.join(own.dir, 'temporal.sqlite'), logDir: own.logDir, port: portOf(own.temporal.address) });
    restarted.push(t2);
    step('Temporal restarted');

    // 3. S3 stops for 12 s (longer than the SDK's own retries) and comes back on its port with its directory:
    // store calls in flight wait it out (worker --outage-wait) instead of failing attempts.
    await own.s3.stop();
    await new Promise((r) => setTimeout(r, 12_000));
    const s2 = await startS3({ root: own.s3.root, logDir: own.logDir, port: portOf(own.s3.endpoint), accessKeyId: own.s3.accessKeyId, secretAccessKey: own.s3.secretAccessKey });
    restarted.push(s2);
    step('S3 restarted');

    // Follow this run to its end (launching again could start a new run if it is already over).
    const connection = await Connection.connect({ address: shared.temporalAddress });
    try {
      await new Client({ connection, namespace: shared.temporalNamespace }).workflow.getHandle(sweepId).result();
    } finally {
      await connection.close();
    }
    const status = await runCli(['sweep', 'status', sweepId, '--json', '--temporal-address', shared.temporalAddress], env);
    expect(status.code, status.stderr).toBe(0);
    const p = JSON.parse(status.stdout) as { status: string; total: number; done: number; ran: number; cached: number; failed: number };
    expect(p).toMatchObject({ status: 'done', done: p.total, ran: p.total, cached: 0, failed: 0 });

    for (const w of workers)
      step(
        `${path.basename(w.logFile)}: ${
          readFileSync(w.logFile, 'utf8')
            .split('\n')
            .filter((l) => /waiting for|answers again/.test(l)).length
        } store-outage lines`,
      );

    const [want, got] = [await resultArtifacts(clean.store), await resultArtifacts(faulty.store)];
    expect(want.size).toBeGreaterThan(0);
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [k, bytes] of want) expect(got.get(k)!.equals(bytes), k).toBe(true);
  });
});
