// Hands a test a running Temporal dev server and S3 server (real binaries, fresh state) and tears them down.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startS3, startTemporal, type S3Server, type TemporalServer } from '../../infra/servers.js';

export interface TestServers {
  temporal: TemporalServer;
  s3: S3Server;
  /** Where this pair keeps its state (SQLite file, S3 root). */
  dir: string;
  logDir: string;
  stop(): Promise<void>;
}

/** Logs stay under .state/test-logs after the servers stop, so a failing test can be read afterwards. */
export function testLogDir(label: string): string {
  return path.resolve('.state', 'test-logs', `${label}-${process.pid}-${Date.now()}`);
}

export async function startTestServers(label = 'servers'): Promise<TestServers> {
  const dir = mkdtempSync(path.join(tmpdir(), `dreamsweep-${label}-`));
  const logDir = testLogDir(label);
  const started = await Promise.allSettled([startTemporal({ dbFile: path.join(dir, 'temporal.sqlite'), logDir }), startS3({ root: path.join(dir, 's3'), logDir })] as const);
  const [t, s] = started;
  if (t.status === 'rejected' || s.status === 'rejected') {
    // Never leave one server running when its partner failed: the test process would not exit.
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw t.status === 'rejected' ? t.reason : (s as PromiseRejectedResult).reason;
  }
  const temporal = t.value;
  const s3 = s.value;
  return {
    temporal,
    s3,
    dir,
    logDir,
    stop: async () => {
      await Promise.all([temporal.stop(), s3.stop()]);
    },
  };
}

/** What integration tests receive from the global setup (plain data: it crosses into test workers). */
export interface SharedServers {
  temporalAddress: string;
  temporalNamespace: string;
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string };
  logDir: string;
}

/** The port of an address or URL (`127.0.0.1:7233`, `http://127.0.0.1:9000`): what a restarted server must bind again. */
export const portOf = (address: string) => Number(address.split(':').at(-1));

/** The plain-data view of started servers that tests take (the global setup provides the shared pair's). */
export function sharedView(servers: TestServers): SharedServers {
  const { temporal, s3 } = servers;
  return {
    temporalAddress: temporal.address,
    temporalNamespace: temporal.namespace,
    s3: { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region },
    logDir: servers.logDir,
  };
}
