// `sweep status` of a sweep whose units failed: the failures by kind (how many, one message, which units by
// id), in the text and in --json. Real servers and a real worker; the failure is real too: the sweep's
// vector set is deleted from the store after planning, so every unit on a residual vector fails for it,
// and the report (which needs them) is skipped.
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

describe('sweep status of failed units', () => {
  it('shows each failure kind with its count, an example message and the units by id', async () => {
    const servers = inject('servers');
    const env = s3Env(servers);
    const bucket = `status-failures-${Date.now()}`;
    await createBucket(servers, bucket);
    const sweep = writeSweep(servers, bucket, 'run', {
      name: 'status-failures',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 7, seed: 0 }, seqLen: 4 },
      methods: { epo: { iters: 1, population: 1, lambdaMin: 0, lambdaMax: 0, children: 2, topk: 4, restartEvery: 0 } },
      // One neuron unit: it needs no vectors, so it finishes.
      targets: { neurons: [{ layer: 1, index: 0 }], seeds: [0] },
      concurrency: { units: 2 },
    });
    const logDir = testLogDir('status-failures');
    const start = (name: string, queues: string[]) => workers.push(startWorkerProcess({ address: servers.temporalAddress, queues, logDir, name, env }));
    // Only the aux queue at first: the sweep plans, and its units wait for a model worker.
    start('aux', [sweep.queues.aux]);
    const launched = await runCli(['sweep', 'launch', sweep.file], env);
    expect(launched.code, launched.stderr).toBe(0);
    const sweepId = launched.stdout.trim();
    const status = (...flags: string[]) => runCli(['sweep', 'status', sweepId, ...flags, '--temporal-address', servers.temporalAddress], env);
    await waitFor('the plan', async () => {
      const s = await status('--json');
      return s.code === 0 && (JSON.parse(s.stdout) as SweepProgress).status === 'running';
    });
    const vectors = (await sweep.store.list('vectors/')).filter((k) => k.endsWith('.json'));
    expect(vectors).toHaveLength(1);
    await sweep.store.delete(vectors[0]!);
    start('model', [sweep.queues.model]);
    await waitFor('the sweep to end', async () => ((await status('--json')).stdout.includes('"status": "failed"') ? true : undefined), 120_000);

    const json = JSON.parse((await status('--json')).stdout) as SweepProgress;
    expect(json).toMatchObject({ status: 'failed', total: 9, done: 1, failed: 8 });
    const kinds = json.failures!;
    expect(kinds).toHaveLength(2);
    const missing = kinds.find((f) => f.example.includes('E_VECTORS_MISSING') || f.example.includes('vector set'))!;
    expect(missing.count).toBe(7);
    expect(missing.example).toContain(vectors[0]);
    // The first five units by id, the rest counted.
    expect(missing.units).toHaveLength(5);
    for (const id of missing.units!) expect(id).toMatch(/^epo\/L1\/v[0-6]\/s0$/);
    expect(new Set(missing.units).size).toBe(5);
    const skipped = kinds.find((f) => f !== missing)!;
    expect(skipped).toMatchObject({ count: 1, units: ['report'] });
    expect(skipped.example).toMatch(/^skipped: depends on a failed unit/);

    const text = await status('--once');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toContain('failed units by kind (8 failed, 2 kinds):');
    expect(text.stderr).toContain(`  7 x ${missing.example}\n    units: ${missing.units!.join(', ')} and 2 more\n`);
    expect(text.stderr).toContain(`  1 x ${skipped.example}\n    units: report\n`);
  });
});
