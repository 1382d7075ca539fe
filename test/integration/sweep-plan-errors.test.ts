// A sweep whose plan activity fails for a user mistake: `sweep launch --wait` shows the root cause once, with
// its code (not "Activity task failed", no SDK stack); `sweep status` says the sweep failed (not
// "planning"); status and cancel of an unknown sweep say so plainly.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testLogDir } from '../helpers/servers.js';
import { createBucket, MODEL, s3Env, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';

const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

describe('plan-time errors', () => {
  it('show the root cause with its code, and status reports the failure', async () => {
    const servers = inject('servers');
    const env = s3Env(servers);
    const bucket = `plan-errors-${Date.now()}`;
    await createBucket(servers, bucket);
    // A vectors file that exists where the launcher validates it, but holds a zero vector: refused on the worker.
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-plan-'));
    const vectors = path.join(dir, 'v.json');
    writeFileSync(vectors, JSON.stringify({ '1': [Array(32).fill(0)] }));
    const sweep = writeSweep(servers, bucket, 'plan-errors', {
      name: 'plan-errors',
      model: { path: MODEL, engine: 'tfjs' },
      study: { layers: [1], vectors: { file: vectors }, seqLen: 6 },
      methods: { random: { prompts: 8, seed: 0, batchSize: 8 } },
    });
    workers.push(startWorkerProcess({ address: servers.temporalAddress, queues: [sweep.queues.model, sweep.queues.aux], logDir: testLogDir('plan-errors'), name: 'worker', env }));

    const r = await runCli(['sweep', 'launch', sweep.file, '--wait'], env);
    expect(r.code, r.stderr).toBe(2);
    const sweepId = r.stdout.trim();
    expect(r.stderr).toContain(`sweep ${sweepId} did not finish: ${vectors}: layer 1 vector 0: the vector is zero in float32`);
    expect(r.stderr).toMatch(/\[E_VECTORS_VALUE\]\n$/);
    expect(r.stderr).not.toMatch(/Activity task failed|\n\s+at \S/);

    const s = await runCli(['sweep', 'status', sweepId, '--once', '--temporal-address', servers.temporalAddress]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(new RegExp(`^${sweepId}: failed`, 'm'));
    expect(s.stderr).not.toContain('planning');
  });

  it('a malformed config.json found on a separate worker fails the plan at once, coded as on the laptop', async () => {
    const servers = inject('servers');
    const env = s3Env(servers);
    const bucket = `plan-config-${Date.now()}`;
    await createBucket(servers, bucket);
    const model = path.join(mkdtempSync(path.join(tmpdir(), 'dreamsweep-bad-config-')), 'model');
    cpSync(MODEL, model, { recursive: true });
    writeFileSync(path.join(model, 'config.json'), '{"model_type": "gpt_neox", ');
    const sweep = writeSweep(servers, bucket, 'plan-config', {
      name: 'plan-config',
      model: { path: model, engine: 'tfjs' },
      study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 6 },
      methods: { random: { prompts: 8, seed: 0, batchSize: 8 } },
    });
    workers.push(startWorkerProcess({ address: servers.temporalAddress, queues: [sweep.queues.model, sweep.queues.aux], logDir: testLogDir('plan-config'), name: 'worker', env }));
    const started = Date.now();
    const r = await runCli(['sweep', 'launch', sweep.file, '--wait'], env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`did not finish: ${path.join(model, 'config.json')}: not valid JSON [E_MODEL_CONFIG]\n`);
    expect(r.stderr).not.toMatch(/SyntaxError|\n\s+at \S/);
    // One attempt, not ten retried ones over minutes.
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);

  it('status and cancel of an unknown sweep: E_SWEEP_UNKNOWN, no raw WorkflowNotFoundError', async () => {
    const { temporalAddress } = inject('servers');
    const cmds = ['status', 'cancel'];
    const runs = await Promise.all(cmds.map((cmd) => runCli(['sweep', cmd, 'no-such-sweep-123', '--temporal-address', temporalAddress])));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/no sweep no-such-sweep-123 on this Temporal server.*\[E_SWEEP_UNKNOWN\]/);
      expect(r.stderr).not.toMatch(/WorkflowNotFoundError|\n\s+at \S/);
    }
  });
});
