// Malformed sweep files are refused before anything reaches Temporal: one clear error each (file:line:col
// and the field), exit code 2, and no workflow started on the real server.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pLimit from 'p-limit';
import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const BAD = path.resolve('test/fixtures/sweeps/bad');

async function sweepCount(): Promise<number> {
  const { temporalAddress, temporalNamespace } = inject('servers');
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection, namespace: temporalNamespace });
    let n = 0;
    for await (const _ of client.workflow.list({ query: `WorkflowType = 'sweepWorkflow'` })) n++;
    return n;
  } finally {
    await connection.close();
  }
}

describe('sweep launch with malformed files', () => {
  const files = readdirSync(BAD)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

  it('has at least ten malformed files to try', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it('refuses each with a located error and launches nothing', async () => {
    const before = await sweepCount();
    // Two launches at a time: each is a process of its own, mostly start-up, and the integration files run one by one.
    const limit = pLimit(2);
    const runs = await Promise.all(files.map((f) => limit(() => runCli(['sweep', 'launch', path.join(BAD, f), '--temporal-address', inject('servers').temporalAddress]))));
    for (const [i, f] of files.entries()) {
      const r = runs[i]!;
      expect(r.code, `${f}: ${r.stderr}`).toBe(2);
      expect(r.stderr, f).toMatch(new RegExp(`${f.replace('.', '\\.')}:\\d+:\\d+ `));
      expect(r.stderr, f).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout, f).toBe(''); // no sweep ID printed
    }
    expect(await sweepCount()).toBe(before);
  });
});
