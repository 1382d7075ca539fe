// One worker process serving both task queues (the README's own example) stays responsive while it
// computes: EPO runs in a worker thread, so the sweep's progress query is answered promptly throughout.
// With the engine on the worker's event loop, each query waited for the batch in flight (seconds).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import type { SweepProgress } from '../../workflows/sweep.js';
import { runCli } from '../helpers/cli.js';
import { testLogDir } from '../helpers/servers.js';
import { createBucket, progressLatencies, s3Env, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';

const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

describe('a worker under load', () => {
  it('answers progress queries within a second while EPO computes', async () => {
    const servers = inject('servers');
    const env = s3Env(servers);
    const smoke = parse(readFileSync('sweeps/smoke.yaml', 'utf8'));
    smoke.model.path = path.resolve('sweeps', smoke.model.path);
    delete smoke.methods.random;
    delete smoke.methods.scan;
    delete smoke.targets;
    // Long enough batches that a blocked event loop would show: a big population and many children.
    Object.assign(smoke.methods.epo, { iters: 6, population: 16, children: 32, batchSize: 512 });
    smoke.study = { ...smoke.study, layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 32 };
    smoke.concurrency = { units: 1 };
    const bucket = `responsive-${Date.now()}`;
    await createBucket(servers, bucket);
    const sweep = writeSweep(servers, bucket, 'responsive', smoke);
    workers.push(startWorkerProcess({ address: servers.temporalAddress, queues: [sweep.queues.model, sweep.queues.aux], logDir: testLogDir('responsive'), name: 'worker', env }));

    const r = await runCli(['sweep', 'launch', sweep.file], env);
    expect(r.code, r.stderr).toBe(0);
    const sweepId = r.stdout.trim().split('\n')[0]!;
    const connection = await Connection.connect({ address: servers.temporalAddress });
    try {
      const handle = new Client({ connection, namespace: servers.temporalNamespace }).workflow.getHandle(sweepId);
      // While EPO computes (the report unit: worker-responsive-report.test.ts).
      const running = (p: SweepProgress, method: string) => p.groups.some((g) => g.method === method && g.running > 0);
      const latencies = await progressLatencies(handle, (p) => running(p, 'epo') && !running(p, 'report'), 300);
      await handle.result();
      process.stderr.write(`progress query latencies while computing (ms): ${latencies.map(Math.round).join(' ')}\n`);
      expect(latencies.length, 'queries made while units ran').toBeGreaterThanOrEqual(5);
      expect(Math.max(...latencies), `latencies (ms): ${latencies.map(Math.round).join(' ')}`).toBeLessThan(1_000);
    } finally {
      await connection.close();
    }
  });
});
