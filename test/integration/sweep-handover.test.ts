// A sweep whose history grows past its handover point continues as new, carrying what is done, and
// still runs every unit exactly once (real Temporal server, a real worker process).
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadSweepFile } from '../../core/sweep/spec.js';
import { testLogDir } from '../helpers/servers.js';
import { createBucket, MODEL, s3Env, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';
import { sweepWorkflow, type SweepInput, type SweepOutcome } from '../../workflows/sweep.js';

let worker: WorkerProcess | undefined;
afterAll(async () => worker?.stop());

describe('sweep history handover', () => {
  it('continues as new before the history grows large and finishes every unit once', async () => {
    const servers = inject('servers');
    const bucket = `handover-${Date.now()}`;
    await createBucket(servers, bucket);
    const sweep = writeSweep(servers, bucket, 'run', {
      name: 'handover',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 12, seed: 0 }, seqLen: 4 },
      methods: { epo: { iters: 2, population: 2, children: 2, topk: 4, restartEvery: 0 } },
      concurrency: { units: 3 },
    });
    worker = startWorkerProcess({
      address: servers.temporalAddress,
      queues: [sweep.queues.model, sweep.queues.aux],
      logDir: testLogDir('handover'),
      name: 'worker',
      env: s3Env(servers),
    });

    const connection = await Connection.connect({ address: servers.temporalAddress });
    try {
      const client = new Client({ connection, namespace: servers.temporalNamespace });
      const workflowId = `handover-${Date.now()}`;
      const input: SweepInput = { spec: loadSweepFile(sweep.file), handoverEvents: 40 };
      const handle = await client.workflow.start(sweepWorkflow, { taskQueue: sweep.queues.aux, workflowId, args: [input] });
      const outcome = (await handle.result()) as SweepOutcome;
      expect(outcome.total).toBe(13); // 12 EPO units and the report
      expect(outcome.ran + outcome.cached).toBe(13);
      expect(outcome.cached).toBe(0);

      let runs = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs++;
      expect(runs).toBeGreaterThan(1);
      const results = (await sweep.store.list('units/')).filter((k) => k.endsWith('/result.json'));
      expect(results).toHaveLength(13);
    } finally {
      await connection.close();
    }
  });
});
