// Accounting when a unit finishes while Temporal is down: the unit's activity writes its result, but its
// completion never reaches the server (the worker's SDK gives up retrying it after ~10 s). After the
// restart the attempt times out, a retry finds the result, and writer.json (the sweep that started the
// unit) lets it count as run by this sweep, not "already done". The timing is forced: S3 is stopped as soon
// as the unit starts (its writer.json exists), so it cannot write its result until Temporal is down too, and
// the history shows the unit's activity completing on the retry that found the result. (Waiting for an
// iteration in the unit's heartbeat instead raced: the SDK sends heartbeats at most every 0.8 heartbeat
// timeouts, and on a fast machine the unit finished before one carried an iteration.)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { startS3, startTemporal } from '../../infra/servers.js';
import { resultKey, writerKey } from '../../core/sweep/layout.js';
import { runCli } from '../helpers/cli.js';
import { portOf, sharedView, startTestServers, type TestServers } from '../helpers/servers.js';
import { createBucket, MODEL, s3Env, waitFor, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';

let own: TestServers | undefined;
const restarted: Array<{ stop(): Promise<void> }> = [];
const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.crash()));
  await Promise.all(restarted.map((s) => s.stop()));
  await own?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a unit that finishes while Temporal is down', () => {
  it('is counted as run by its sweep after the retry finds its result', { timeout: 300_000 }, async () => {
    const step = (what: string) => process.stderr.write(`lost-completion: ${what}\n`);
    own = await startTestServers('lost-completion');
    const shared = sharedView(own);
    const env = s3Env(shared);
    await createBucket(shared, 'lost');
    // One EPO unit that computes for seconds with no store call until its end (no checkpoint before). The
    // heartbeat timeout is above the SDK's 10 s retry budget, so that failed heartbeats alone do not time the
    // unit out on its worker while Temporal is away.
    const sweep = writeSweep(shared, 'lost', 'lost', {
      name: 'lost',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 6 },
      methods: { epo: { iters: 250, population: 4, children: 16, topk: 16, checkpointEvery: 1000 } },
      temporal: { heartbeatTimeout: 10 },
      concurrency: { units: 1 },
    });
    const worker = startWorkerProcess({ address: shared.temporalAddress, queues: [sweep.queues.model, sweep.queues.aux], logDir: own.logDir, name: 'worker', env });
    workers.push(worker);
    const launched = await runCli(['sweep', 'launch', sweep.file], env);
    expect(launched.code, launched.stderr).toBe(0);
    const sweepId = launched.stdout.trim();

    // 1. Once the unit starts (it writes writer.json first), S3 stops: the unit waits for the store, to read its
    // inputs or to write its results (the worker logs that it waits).
    const writer = await waitFor('the EPO unit to start', async () => (await sweep.store.list('units/epo/')).find((k) => k.endsWith('/writer.json')));
    await own.s3.stop();
    step('S3 stopped as the unit started');
    const unit = { key: writer.slice(0, -'/writer.json'.length) };
    expect(writerKey(unit)).toBe(writer);
    await waitFor('the unit to wait for the store', async () => /waiting for the store/.test(readFileSync(worker.logFile, 'utf8')), 180_000);
    expect(await sweep.store.exists(resultKey(unit)).catch(() => false)).toBe(false);

    // 2. Temporal stops, S3 comes back: the unit computes and writes its result, and its completion finds no server.
    await own.temporal.stop();
    const s2 = await startS3({ root: own.s3.root, logDir: own.logDir, port: portOf(own.s3.endpoint), accessKeyId: own.s3.accessKeyId, secretAccessKey: own.s3.secretAccessKey });
    restarted.push(s2);
    step('Temporal stopped, S3 restarted');
    await waitFor('the unit to write its result', async () => sweep.store.exists(resultKey(unit)));
    // The SDK retries a completion for 10 s (sdk-core's client retry budget), then drops it.
    await sleep(15_000);
    const t2 = await startTemporal({ dbFile: path.join(own.dir, 'temporal.sqlite'), logDir: own.logDir, port: portOf(own.temporal.address) });
    restarted.push(t2);
    step('result written while Temporal was down; Temporal restarted');

    const connection = await Connection.connect({ address: shared.temporalAddress });
    let events: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events'];
    try {
      const handle = new Client({ connection, namespace: shared.temporalNamespace }).workflow.getHandle(sweepId);
      await handle.result();
      events = (await handle.fetchHistory()).events!;
    } finally {
      await connection.close();
    }
    // The completion was lost: one activity (the EPO unit's) ran a second attempt, which found the result.
    const retried = events!.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retried).toHaveLength(1);

    // Counted as run by this sweep, in `sweep status` and in the unit's activity result.
    const status = await runCli(['sweep', 'status', sweepId, '--json', '--temporal-address', shared.temporalAddress], env);
    expect(status.code, status.stderr).toBe(0);
    const p = JSON.parse(status.stdout) as { status: string; total: number; done: number; ran: number; cached: number; failed: number };
    expect(p).toMatchObject({ status: 'done', done: p.total, ran: p.total, cached: 0, failed: 0 });
    const completed = events!.find((e) => e.activityTaskCompletedEventAttributes?.startedEventId?.toString() === retried[0]!.eventId?.toString())!;
    expect(defaultPayloadConverter.fromPayload(completed.activityTaskCompletedEventAttributes!.result!.payloads![0]!)).toEqual({ cached: false, recovered: true });
  });
});
