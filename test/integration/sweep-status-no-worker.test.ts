// `sweep status` while no worker polls the sweep's queue answers from the store and the workflow's
// description and history: the usual counts (--json too), failed units and their kinds included, and that no
// worker polls and since when; never an internal error.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testLogDir } from '../helpers/servers.js';
import { createBucket, MODEL, s3Env, waitFor, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';
import type { SweepProgress } from '../../workflows/sweep.js';

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

  it('a failed sweep after its workers stopped: the same failed count, groups and failure kinds as the workflow gave', async () => {
    const servers = inject('servers');
    const env = s3Env(servers);
    const bucket = `no-worker-failed-${Date.now()}`;
    await createBucket(servers, bucket);
    // As in sweep-status-failures: the vector set is deleted after planning, so every unit on a vector fails
    // and the report is skipped; the neuron unit finishes.
    const sweep = writeSweep(servers, bucket, 'p', {
      name: 'no-worker-failed',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 7, seed: 0 }, seqLen: 4 },
      methods: { epo: { iters: 1, population: 1, lambdaMin: 0, lambdaMax: 0, children: 2, topk: 4, restartEvery: 0 } },
      targets: { neurons: [{ layer: 1, index: 0 }], seeds: [0] },
      concurrency: { units: 2 },
    });
    const logDir = testLogDir('no-worker-failed');
    const aux = startWorkerProcess({ address: servers.temporalAddress, queues: [sweep.queues.aux], logDir, name: 'aux', env });
    workers.push(aux);
    const launched = await runCli(['sweep', 'launch', sweep.file], env);
    expect(launched.code, launched.stderr).toBe(0);
    const id = launched.stdout.trim();
    const status = (...flags: string[]) => runCli(['sweep', 'status', id, ...flags, '--temporal-address', servers.temporalAddress], env);
    await waitFor('the plan', async () => {
      const s = await status('--json');
      return s.code === 0 && (JSON.parse(s.stdout) as SweepProgress).status === 'running';
    });
    for (const key of (await sweep.store.list('vectors/')).filter((k) => k.endsWith('.json'))) await sweep.store.delete(key);
    const model = startWorkerProcess({ address: servers.temporalAddress, queues: [sweep.queues.model], logDir, name: 'model', env });
    workers.push(model);
    const live = await waitFor(
      'the sweep to fail',
      async () => {
        const p = JSON.parse((await status('--json')).stdout) as SweepProgress;
        return p.status === 'failed' ? p : undefined;
      },
      120_000,
    );
    expect(live).toMatchObject({ total: 9, done: 1, failed: 8 });
    await Promise.all([aux.stop(), model.stop()]);

    const json = await status('--json');
    expect(json.code, json.stderr).toBe(0);
    const p = JSON.parse(json.stdout) as SweepProgress & { source: string };
    expect(p).toMatchObject({ status: 'failed', source: 'store', total: live.total, done: live.done, failed: live.failed, ran: live.ran, cached: live.cached });
    const byGroup = (q: SweepProgress) => q.groups.map((g) => `${g.method} ${g.layer} ${g.total} ${g.done} ${g.failed}`).sort();
    expect(byGroup(p)).toEqual(byGroup(live));
    // The same kinds, counts, examples and units (their order may differ: the workflow records the skip as it goes).
    const kinds = (q: SweepProgress) => (q.failures ?? []).map((f) => JSON.stringify([f.reason, f.count, f.example, f.units])).sort();
    expect(kinds(p)).toEqual(kinds(live));

    const text = await status('--once');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(new RegExp(`^${id}: failed, 1/9 units done .* 8 failed \\(from the store`, 'm'));
    expect(text.stderr).toContain('failed units by kind (8 failed, 2 kinds):');
  }, 300_000);
});
