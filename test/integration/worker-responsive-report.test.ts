// The report unit builds its report (aggregation, charts, HTML: seconds for a big sweep) in a worker
// thread, so the worker that hosts it, serving both task queues, keeps answering progress queries. With the
// report built on the worker's event loop, a query waited for the whole render.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { testLogDir } from '../helpers/servers.js';
import { createBucket, progressLatencies, s3Env, writeSweep } from '../helpers/sweeps.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers.js';

const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

describe('a worker building a report', () => {
  it('answers progress queries within a second while the report unit renders a big report', async () => {
    const servers = inject('servers');
    const env = s3Env(servers);
    const smoke = parse(readFileSync('sweeps/smoke.yaml', 'utf8'));
    smoke.model.path = path.resolve('sweeps', smoke.model.path);
    smoke.methods.scan.corpus = path.resolve('sweeps', smoke.methods.scan.corpus);
    // Many vectors, cheap units: the baselines take seconds, the report's tables and charts (a point per
    // vector and method) take seconds of synchronous work.
    delete smoke.methods.epo;
    delete smoke.targets;
    smoke.methods.random = { ...smoke.methods.random, prompts: 16 };
    smoke.methods.scan = { ...smoke.methods.scan, shards: 1 };
    smoke.study = { ...smoke.study, layers: [1, 2], vectors: { count: 3000, seed: 0 } };
    smoke.concurrency = { units: 1 };
    const bucket = `responsive-report-${Date.now()}`;
    await createBucket(servers, bucket);
    const sweep = writeSweep(servers, bucket, 'responsive-report', smoke);
    workers.push(
      startWorkerProcess({ address: servers.temporalAddress, queues: [sweep.queues.model, sweep.queues.aux], logDir: testLogDir('responsive-report'), name: 'worker', env }),
    );

    const r = await runCli(['sweep', 'launch', sweep.file], env);
    expect(r.code, r.stderr).toBe(0);
    const sweepId = r.stdout.trim().split('\n')[0]!;
    const connection = await Connection.connect({ address: servers.temporalAddress });
    try {
      const handle = new Client({ connection, namespace: servers.temporalNamespace }).workflow.getHandle(sweepId);
      const latencies = await progressLatencies(handle, (p) => p.groups.some((g) => g.method === 'report' && g.running > 0), 200);
      await handle.result();
      process.stderr.write(`progress query latencies while the report unit ran (ms): ${latencies.map(Math.round).join(' ')}\n`);
      expect(Math.max(...latencies), `latencies (ms): ${latencies.map(Math.round).join(' ')}`).toBeLessThan(1_000);
      expect(latencies.length, 'queries made while the report unit ran').toBeGreaterThanOrEqual(5);

      // The thread's report is the one `dreamsweep report` builds on its own event loop, byte for byte, but
      // for the note where the page has no attribution (this sweep has no EPO prompt to attribute).
      const out = mkdtempSync(path.join(tmpdir(), 'dreamsweep-report-out-'));
      const cli = await runCli(
        [
          'report',
          `${sweep.storageUri}/sweeps/${sweepId}`,
          '--out',
          out,
          '--endpoint',
          servers.s3.endpoint,
          '--region',
          servers.s3.region,
          '--path-style',
          '--model',
          smoke.model.path,
        ],
        env,
      );
      expect(cli.code, cli.stderr).toBe(0);
      const stored = (await sweep.store.list(`sweeps/${sweepId}/report/`)).map((k) => k.slice(k.lastIndexOf('/') + 1));
      expect(stored).toEqual(readdirSync(out).sort());
      const withoutNote = (b: Buffer) => b.toString('utf8').replace(/<section id="attribution">[^]*?<\/section>/, '');
      for (const name of stored) {
        const bytes = Buffer.from((await sweep.store.get(`sweeps/${sweepId}/report/${name}`))!);
        const theirs = readFileSync(path.join(out, name));
        if (name === 'report.html') expect(withoutNote(bytes) === withoutNote(theirs), name).toBe(true);
        else expect(bytes.equals(theirs), name).toBe(true);
      }
    } finally {
      await connection.close();
    }
  });
});
