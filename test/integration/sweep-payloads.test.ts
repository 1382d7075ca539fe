// Temporal's payloads stay small at any sweep size: a 50,000-unit sweep (real Temporal and S3 servers, a
// real worker) plans, runs some units, hands over (continue-as-new) and is cancelled; no payload in its
// histories, and no progress answer, comes near Temporal's 512 KB warning (the limit is 2-4 MB).
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadSweepFile } from '../../core/sweep/spec.js';
import { testLogDir } from '../helpers/servers.js';
import { createBucket, MODEL, s3Env, waitFor, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';
import { progressQuery, sweepWorkflow, type SweepInput } from '../../workflows/sweep.js';

const LIMIT = 512 * 1024;
let worker: WorkerProcess | undefined;
afterAll(async () => worker?.stop());

/** Sizes of every payload anywhere in a history event (inputs, results, details, failures). */
function payloadSizes(value: unknown, out: number[] = []): number[] {
  if (!value || typeof value !== 'object') return out;
  if (ArrayBuffer.isView(value)) return out;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.payloads)) for (const p of v.payloads as Array<{ data?: Uint8Array | null }>) out.push(p.data?.length ?? 0);
  for (const child of Object.values(v)) payloadSizes(child, out);
  return out;
}

describe('sweep payloads', () => {
  it('stay under 512 KB for a 50,000-unit sweep: plan, pages, units, handover, query', async () => {
    const servers = inject('servers');
    const bucket = `payloads-${Date.now()}`;
    await createBucket(servers, bucket);
    // 2 layers x 128 neurons x 196 seeds = 50,176 EPO units, one on the residual vector, and the report.
    const neurons = [0, 1].flatMap((layer) => Array.from({ length: 128 }, (_, index) => ({ layer, index })));
    const sweep = writeSweep(servers, bucket, 'run', {
      name: 'payloads',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 4 },
      methods: { epo: { iters: 1, population: 1, lambdaMin: 0, lambdaMax: 0, children: 2, topk: 4, restartEvery: 0 } },
      targets: { neurons, seeds: Array.from({ length: 196 }, (_, i) => i) },
      concurrency: { units: 4 },
    });
    worker = startWorkerProcess({
      address: servers.temporalAddress,
      queues: [sweep.queues.model, sweep.queues.aux],
      logDir: testLogDir('payloads'),
      name: 'worker',
      env: s3Env(servers),
    });

    const connection = await Connection.connect({ address: servers.temporalAddress });
    try {
      const client = new Client({ connection, namespace: servers.temporalNamespace });
      const workflowId = `payloads-${Date.now()}`;
      const input: SweepInput = { spec: loadSweepFile(sweep.file), handoverEvents: 120 };
      const handle = await client.workflow.start(sweepWorkflow, { taskQueue: sweep.queues.aux, workflowId, args: [input] });
      const firstRun = handle.firstExecutionRunId;

      // Run until the sweep has handed over at least once and kept going.
      const p = await waitFor(
        'a handover and some units done',
        async () => {
          const desc = await client.workflow.getHandle(workflowId).describe();
          if (desc.runId === firstRun) return false;
          const q = await client.workflow
            .getHandle(workflowId)
            .query(progressQuery)
            .catch(() => undefined);
          return q && q.done >= 40 ? q : false;
        },
        170_000,
      );
      expect(p.total).toBe(50_178);
      const answer = defaultPayloadConverter.toPayload(p).data!.length;
      expect(answer).toBeLessThan(LIMIT);

      await client.workflow.getHandle(workflowId).cancel();
      await client.workflow
        .getHandle(workflowId)
        .result()
        .catch(() => {});
      const sizes: number[] = [];
      for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
        const history = await client.workflow.getHandle(workflowId, w.runId).fetchHistory();
        payloadSizes(history, sizes);
      }
      expect(sizes.length).toBeGreaterThan(50);
      expect(Math.max(...sizes)).toBeLessThan(LIMIT);
    } finally {
      await connection.close();
    }
  });
});
