// sweeps/smoke.yaml end to end against the real servers: two worker processes, artifacts in S3, every
// method (random baseline, two scan shards and their merge, EPO on directions, a neuron and a token).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { readSweepPlan } from '../../core/sweep/plans.js';
import { resultKey } from '../../core/sweep/plan.js';
import { freePort } from '../../infra/servers.js';
import { runCli } from '../helpers/cli.js';
import { testLogDir } from '../helpers/servers.js';
import { createBucket, s3Env, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';

const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

describe('the smoke sweep', () => {
  it('runs every unit on two worker processes with artifacts in S3', async () => {
    const servers = inject('servers');
    const env = s3Env(servers);
    const smoke = parse(readFileSync('sweeps/smoke.yaml', 'utf8'));
    const fromSweeps = (p: string) => path.resolve('sweeps', p);
    smoke.model.path = fromSweeps(smoke.model.path);
    smoke.methods.scan.corpus = fromSweeps(smoke.methods.scan.corpus);
    const bucket = `smoke-${Date.now()}`;
    await createBucket(servers, bucket);
    const sweep = writeSweep(servers, bucket, 'smoke', smoke);
    const logDir = testLogDir('smoke');
    const metricsPort = await freePort();
    for (const name of ['worker-1', 'worker-2']) {
      const extra = name === 'worker-1' ? ['--metrics-port', String(metricsPort)] : [];
      workers.push(startWorkerProcess({ address: servers.temporalAddress, queues: [sweep.queues.model, sweep.queues.aux], logDir, name, env, extra }));
    }

    const r = await runCli(['sweep', 'launch', sweep.file, '--wait'], env);
    expect(r.code, r.stderr).toBe(0);
    const [sweepId, reportLine] = r.stdout.trim().split('\n');
    expect(reportLine).toBe(`report: ${sweep.storageUri}/sweeps/${sweepId}/report/report.html`);
    const plan = await readSweepPlan(sweep.store, sweepId!);
    const kinds = plan.units.map((u) => u.id.split('/')[0]).sort();
    expect(new Set(kinds)).toEqual(new Set(['random', 'scan', 'epo', 'neuron', 'logit', 'report']));
    for (const u of plan.units) expect(await sweep.store.exists(resultKey(u)), u.id).toBe(true);

    // The report, the sweep's last unit, is stored beside the plan.
    const html = Buffer.from((await sweep.store.get(`sweeps/${sweepId}/report/report.html`))!).toString('utf8');
    expect(html).toMatch(/<svg/);

    // Both workers took part.
    const runs = await Promise.all(
      plan.units.filter((u) => u.kind === 'epo').map(async (u) => JSON.parse(Buffer.from((await sweep.store.get(`${u.key}/run.json`))!).toString('utf8')).worker as string),
    );
    expect(new Set(runs).size).toBe(2);

    // The merged scan covers both shards' windows.
    const merge = plan.units.find((u) => u.kind === 'scan-merge')!;
    const shards = plan.units.filter((u) => u.kind === 'scan-shard');
    const read = async (key: string) => JSON.parse(Buffer.from((await sweep.store.get(key))!).toString('utf8'));
    const merged = await read(`${merge.key}/scan.json`);
    const parts = await Promise.all(shards.map((u) => read(`${u.key}/scan.json`)));
    expect(merged.windows).toBe(parts.reduce((a, p) => a + p.windows, 0));
    expect(merged.windows).toBeGreaterThan(0);
    expect(merged.pairs).toHaveLength(4); // 2 layers x 2 vectors
    // The neuron and the token target were scanned too, in plan order, their shards' counts added up.
    expect(merged.features.map((f: { label: string }) => f.label)).toEqual(['neuron L1.N3', 'logit " model"']);
    merged.features.forEach((f: { count: number; excluded: number; top: Array<{ activations: number[] }> }, i: number) => {
      expect(f.count + f.excluded).toBe(merged.windows);
      expect(f.count).toBe(parts.reduce((a, p) => a + p.features[i].count, 0));
      expect(f.top.length).toBeGreaterThan(0);
      for (const e of f.top) expect(e.activations).toHaveLength(6);
    });

    // Worker 1's Prometheus endpoint: its own unit metrics and the Temporal SDK's.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^dreamsweep_units_finished_total\{kind="epo",outcome="done"\} [1-9]/m);
    expect(metrics).toMatch(/^dreamsweep_epo_iterations_total [1-9]/m);
    expect(metrics).toMatch(/^dreamsweep_checkpoint_age_seconds /m);
    expect(metrics).toMatch(/^temporal_/m);
  });
});
