// Sweeps survive what clusters do to them, against the real Temporal and S3 servers: a worker killed with
// kill -9 in the middle of an EPO unit, and a sweep cancelled half-way then resumed. Results must be
// byte-identical to a clean run's.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { resultKey } from '../../core/sweep/plan.js';
import { runCli } from '../helpers/cli.js';
import { createBucket, MODEL, resultArtifacts, s3Env, waitFor, writeSweep } from '../helpers/sweeps.js';
import { testLogDir } from '../helpers/servers.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';

const servers = () => inject('servers');
const workers: WorkerProcess[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.crash()));
});

function spawnWorker(queues: { model: string; aux: string }, name: string, logDir: string, extra: string[] = []): WorkerProcess {
  const w = startWorkerProcess({ address: servers().temporalAddress, queues: [queues.model, queues.aux], logDir, name, env: s3Env(servers()), extra });
  workers.push(w);
  return w;
}

// A unit that is still running well after its first checkpoint (iteration 20), when the test kills or drains its worker.
const LONG = 240;

function epoStudy(name: string, vectors: number, iters: number) {
  return {
    name,
    model: { path: MODEL, engine: 'tfjs' },
    study: { layers: [1], vectors: { count: vectors, seed: 0 }, seqLen: 6 },
    methods: { epo: { iters, population: 4, children: 16, topk: 16, checkpointEvery: 20 } },
    temporal: { heartbeatTimeout: 3 },
    concurrency: { units: 2 },
  };
}

describe('sweep recovery', () => {
  it('finishes an EPO unit from its checkpoint on another worker after kill -9, byte-identical to a clean run', async () => {
    const logDir = testLogDir('kill9');
    const bucket = `kill9-${Date.now()}`;
    await createBucket(servers(), bucket);
    const env = s3Env(servers());
    const study = epoStudy('kill9', 1, LONG);

    // The clean run, for reference.
    const clean = writeSweep(servers(), bucket, 'clean', study);
    spawnWorker(clean.queues, 'clean', logDir);
    const cleanRun = await runCli(['sweep', 'launch', clean.file, '--wait'], env);
    expect(cleanRun.code, cleanRun.stderr).toBe(0);

    // The crashed run: worker A dies once a checkpoint is in the store; worker B takes over.
    const crashed = writeSweep(servers(), bucket, 'crashed', study);
    const a = spawnWorker(crashed.queues, 'worker-a', logDir);
    const launched = await runCli(['sweep', 'launch', crashed.file], env);
    expect(launched.code, launched.stderr).toBe(0);
    const sweepId = launched.stdout.trim();
    const ckKey = await waitFor('a checkpoint', async () => (await crashed.store.list('units/epo/')).find((k) => k.endsWith('checkpoint.safetensors')));
    const unitKey = ckKey.slice(0, -'/checkpoint.safetensors'.length);
    expect(await crashed.store.exists(resultKey({ key: unitKey }))).toBe(false);
    await a.crash();
    spawnWorker(crashed.queues, 'worker-b', logDir);
    const status = await runCli(['sweep', 'status', sweepId, '--json', '--temporal-address', servers().temporalAddress], env);
    expect(status.code, status.stderr).toBe(0);

    const waited = await runCli(['sweep', 'launch', crashed.file, '--wait'], env); // follows the running sweep
    expect(waited.code, waited.stderr).toBe(0);
    const run = JSON.parse(Buffer.from((await crashed.store.get(`${unitKey}/run.json`))!).toString('utf8'));
    expect(run.resumedFrom).toBeGreaterThan(0);
    expect(run.attempt).toBeGreaterThan(1);

    const [want, got] = [await resultArtifacts(clean.store), await resultArtifacts(crashed.store)];
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [k, bytes] of want) expect(got.get(k)!.equals(bytes), k).toBe(true);
  });

  it('drains a worker on SIGTERM: its unit checkpoints and finishes on another worker, no retry attempt used', async () => {
    const logDir = testLogDir('drain');
    const bucket = `drain-${Date.now()}`;
    await createBucket(servers(), bucket);
    const env = s3Env(servers());
    const sweep = writeSweep(servers(), bucket, 'drain', epoStudy('drain', 1, LONG));
    const a = spawnWorker(sweep.queues, 'worker-a', logDir, ['--shutdown-grace', '1']);
    expect((await runCli(['sweep', 'launch', sweep.file], env)).code).toBe(0);
    const ckKey = await waitFor('a checkpoint', async () => (await sweep.store.list('units/epo/')).find((k) => k.endsWith('checkpoint.safetensors')));
    const unitKey = ckKey.slice(0, -'/checkpoint.safetensors'.length);
    await a.stop();
    expect(await a.exited).toBe(0);
    expect(await sweep.store.exists(resultKey({ key: unitKey }))).toBe(false);

    spawnWorker(sweep.queues, 'worker-b', logDir);
    const waited = await runCli(['sweep', 'launch', sweep.file, '--wait'], env);
    expect(waited.code, waited.stderr).toBe(0);
    const run = JSON.parse(Buffer.from((await sweep.store.get(`${unitKey}/run.json`))!).toString('utf8'));
    // It went on from where worker A stopped (A checkpointed on its way out), not from scratch.
    expect(run.resumedFrom).toBeGreaterThan(0);
    // The sweep moved it as a fresh activity: the shutdown used up none of its retry attempts.
    expect(run.moved).toBe(1);
    expect(run.attempt).toBe(1);
  });

  it('after cancel, resume runs only the unfinished units and gives the same results', async () => {
    const logDir = testLogDir('cancel');
    const bucket = `cancel-${Date.now()}`;
    await createBucket(servers(), bucket);
    const env = s3Env(servers());
    const study = { ...epoStudy('cancel', 6, 100), concurrency: { units: 1 } };

    const clean = writeSweep(servers(), bucket, 'clean', study);
    spawnWorker(clean.queues, 'clean', logDir);
    expect((await runCli(['sweep', 'launch', clean.file, '--wait'], env)).code).toBe(0);

    const sweep = writeSweep(servers(), bucket, 'cancelled', study);
    spawnWorker(sweep.queues, 'worker', logDir);
    const launched = await runCli(['sweep', 'launch', sweep.file], env);
    const sweepId = launched.stdout.trim();
    const finishedBefore = await waitFor('two finished units', async () => {
      const n = (await sweep.store.list('units/epo/')).filter((k) => k.endsWith('/result.json')).length;
      return n >= 2 && n;
    });
    const cancelled = await runCli(['sweep', 'cancel', sweepId, '--temporal-address', servers().temporalAddress], env);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    const done = (await sweep.store.list('units/epo/')).filter((k) => k.endsWith('/result.json')).length;
    expect(done).toBeGreaterThanOrEqual(finishedBefore);
    expect(done).toBeLessThan(6);

    const resumed = await runCli(['sweep', 'resume', sweepId, '--wait', '--temporal-address', servers().temporalAddress], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    // Only the unfinished units ran again.
    const line = resumed.stderr.match(/(\d+) units run, (\d+) already done, of (\d+)/);
    expect(line, resumed.stderr).not.toBeNull();
    const [ran, cached, total] = line!.slice(1).map(Number);
    expect(total).toBe(7); // 6 EPO units and the report
    expect(ran! + cached!).toBe(7);
    expect(ran).toBeLessThanOrEqual(7 - finishedBefore);

    const [want, got] = [await resultArtifacts(clean.store), await resultArtifacts(sweep.store)];
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [k, bytes] of want) expect(got.get(k)!.equals(bytes), k).toBe(true);
  });
});
