// `sweep status` while no worker polls the sweep's queue answers from the store and the workflow's
// description: the usual counts (--json too), and that no worker polls and since when; never an internal error.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testLogDir } from '../helpers/servers.js';
import { createBucket, MODEL, s3Env, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';

const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

describe('sweep status with no worker polling', () => {
  it('a sweep no worker ever picked up: planning, 0 units, no worker polling', async () => {
    const servers = inject('servers');
    const bucket = `no-worker-${Date.now()}`;
    await createBucket(servers, bucket);
    const sweep = writeSweep(servers, bucket, 'p', {
      name: 'no-worker',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 4 },
      methods: { random: { prompts: 8, seed: 0, batchSize: 8 } },
    });
    const env = s3Env(servers);
    const launched = await runCli(['sweep', 'launch', sweep.file], env);
    expect(launched.code, launched.stderr).toBe(0);
    const id = launched.stdout.trim();

    const json = await runCli(['sweep', 'status', id, '--json', '--temporal-address', servers.temporalAddress], env);
    expect(json.code, json.stderr).toBe(0);
    const p = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(p).toMatchObject({ status: 'planning', total: 0, done: 0, source: 'store' });
    expect(String(p.noWorker)).toContain(`no worker is polling task queue ${sweep.queues.aux}`);

    const once = await runCli(['sweep', 'status', id, '--once', '--temporal-address', servers.temporalAddress], env);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stderr).toMatch(new RegExp(`^${id}: planning, 0/0 units done .*no worker is polling task queue ${sweep.queues.aux}`, 'm'));
  }, 120_000);

  it('a finished sweep after its worker stopped: the same counts as the workflow gave', async () => {
    const servers = inject('servers');
    const env = s3Env(servers);
    const bucket = `no-worker-done-${Date.now()}`;
    await createBucket(servers, bucket);
    const sweep = writeSweep(servers, bucket, 'p', {
      name: 'no-worker-done',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 4 },
      methods: { random: { prompts: 8, seed: 0, batchSize: 8 } },
    });
    const worker = startWorkerProcess({ address: servers.temporalAddress, queues: [sweep.queues.model, sweep.queues.aux], logDir: testLogDir('no-worker'), name: 'worker', env });
    workers.push(worker);
    const r = await runCli(['sweep', 'launch', sweep.file, '--wait'], env);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.split('\n')[0]!.trim();
    const live = JSON.parse((await runCli(['sweep', 'status', id, '--json', '--temporal-address', servers.temporalAddress], env)).stdout) as Record<string, number>;
    await worker.stop();

    const json = await runCli(['sweep', 'status', id, '--json', '--temporal-address', servers.temporalAddress], env);
    expect(json.code, json.stderr).toBe(0);
    const p = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(p).toMatchObject({ status: 'done', total: live.total, done: live.done, ran: live.ran, cached: live.cached, running: 0, source: 'store' });
    expect(String(p.noWorker)).toMatch(/last poll of task queue .* was at \d{4}-|no worker is polling/);
  }, 240_000);
});
