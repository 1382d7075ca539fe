// A workflow on the real Temporal dev server runs an activity on a real @temporalio/worker.
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { startTemporal } from '../../infra/servers.js';
import * as activities from './fixtures/greet-activities.js';
import { testLogDir } from '../helpers/servers.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Worker lifecycle chatter at INFO drowns test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

const workflowsPath = fileURLToPath(new URL('./fixtures/greet-workflow.ts', import.meta.url));

async function runGreeting(address: string, namespace: string, taskQueue: string): Promise<string> {
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  try {
    const worker = await Worker.create({ connection: nativeConnection, namespace, taskQueue, workflowsPath, activities });
    const client = new Client({ connection, namespace });
    return await worker.runUntil(client.workflow.execute('greetWorkflow', { taskQueue, workflowId: `greet-${taskQueue}`, args: ['dreamer'] }));
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
}

describe('Temporal test bed', () => {
  it('runs a workflow whose activity executes on a real worker', async () => {
    const { temporalAddress, temporalNamespace } = inject('servers');
    const result = await runGreeting(temporalAddress, temporalNamespace, `greet-${Date.now()}`);
    expect(result).toBe(`hello dreamer from worker pid ${process.pid}`);
  });

  it('fails once the Temporal server is stopped', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-temporal-stop-'));
    const server = await startTemporal({ dbFile: path.join(dir, 'db.sqlite'), logDir: testLogDir('temporal-stop') });
    try {
      await expect(runGreeting(server.address, 'default', 'before-stop')).resolves.toContain('hello dreamer');
      await server.stop();
      expect(server.alive()).toBe(false);
      await expect(runGreeting(server.address, 'default', 'after-stop')).rejects.toThrow();
    } finally {
      await server.stop();
    }
  });
});
