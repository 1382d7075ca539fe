// A whole sweep (random baseline, scan, EPO on residual directions, a neuron and a token, the report) on the other
// families' fixtures against the real servers: a Llama-3-style model (its tokenizer adds a BOS), GPT-2 (learned
// positions, tied unembedding) and Gemma 2 (soft-capping; sliding windows shorter than the prompts). The sweep and
// the report never ask which family runs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { torchPythonAvailable } from '../../core/model/torch-env.js';
import { readSweepPlan } from '../../core/sweep/plans.js';
import { resultKey } from '../../core/sweep/plan.js';
import { runCli } from '../helpers/cli.js';
import { testLogDir } from '../helpers/servers.js';
import { createBucket, s3Env, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';

const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

// Gemma 2 also dreams a latent of a Gemma-Scope-style SAE, on both engines (the torch engine where it is installed).
const GEMMA_SCOPE = path.resolve('test/fixtures/saes/gemma-scope-tiny-gemma2-resid_post.1/params.npz');
const cases: Array<[string, string]> = [
  ['tiny-llama3', 'tfjs'],
  ['tiny-gpt2', 'tfjs'],
  ['tiny-gemma2', 'tfjs'],
  ...(torchPythonAvailable() ? [['tiny-gemma2', 'torch'] as [string, string]] : []),
];

describe.each(cases)('a sweep on %s (%s engine)', (model, engine) => {
  it('runs every unit and writes the report', async () => {
    const servers = inject('servers');
    const env = s3Env(servers);
    const smoke = parse(readFileSync('sweeps/smoke.yaml', 'utf8'));
    smoke.name = `family-${model}-${engine}`;
    smoke.model.path = path.resolve('test/fixtures/models', model);
    smoke.model.engine = engine;
    smoke.methods.scan.corpus = path.resolve('sweeps', smoke.methods.scan.corpus);
    smoke.targets.tokens = [{ token: '#42' }];
    const withSae = model === 'tiny-gemma2';
    if (withSae) smoke.targets.saes = [{ path: GEMMA_SCOPE, site: 'resid_post', layer: 1, latents: [7] }];
    const bucket = `family-${model}-${engine}-${Date.now()}`;
    await createBucket(servers, bucket);
    const sweep = writeSweep(servers, bucket, `${model}-${engine}`, smoke);
    const name = `${model}-${engine}`;
    workers.push(startWorkerProcess({ address: servers.temporalAddress, queues: [sweep.queues.model, sweep.queues.aux], logDir: testLogDir(`family-${name}`), name, env }));

    const r = await runCli(['sweep', 'launch', sweep.file, '--wait'], env);
    expect(r.code, r.stderr).toBe(0);
    const [sweepId] = r.stdout.trim().split('\n');
    const plan = await readSweepPlan(sweep.store, sweepId!);
    const kinds = ['random', 'scan', 'epo', 'neuron', 'logit', 'report', ...(withSae ? ['sae'] : [])];
    expect(new Set(plan.units.map((u) => u.id.split('/')[0]))).toEqual(new Set(kinds));
    for (const u of plan.units) expect(await sweep.store.exists(resultKey(u)), u.id).toBe(true);
    const html = Buffer.from((await sweep.store.get(`sweeps/${sweepId}/report/report.html`))!).toString('utf8');
    expect(html).toMatch(/<svg/);
  });
});
