// Building sweep files against the shared test servers, and reading what sweeps leave in S3.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';
import { stringify } from 'yaml';
import { openStore, type ArtifactStore } from '../../core/store/index.js';
import type { SweepProgress } from '../../workflows/sweep.js';
import type { SharedServers } from './servers.js';

export const MODEL = path.resolve('test/fixtures/models/tiny-parallel');

export function s3Env(s: SharedServers): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: s.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s.s3.secretAccessKey, AWS_REGION: s.s3.region };
}

export async function createBucket(s: SharedServers, bucket: string): Promise<void> {
  const c = new S3Client({
    endpoint: s.s3.endpoint,
    region: s.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.s3.accessKeyId, secretAccessKey: s.s3.secretAccessKey },
  });
  try {
    await c.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    c.destroy();
  }
}

export interface TestSweep {
  file: string;
  dir: string;
  queues: { model: string; aux: string };
  storageUri: string;
  store: ArtifactStore;
}

/** A sweep file in a fresh directory, storing in `s3://bucket/<prefix>` on the shared S3 server, with its own task queues. */
export function writeSweep(s: SharedServers, bucket: string, prefix: string, body: Record<string, unknown>): TestSweep {
  const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-sweep-'));
  mkdirSync(dir, { recursive: true });
  const id = randomUUID().slice(0, 8);
  const queues = { model: `model-${id}`, aux: `aux-${id}` };
  const storageUri = `s3://${bucket}/${prefix}`;
  const spec = {
    ...body,
    storage: { uri: storageUri, endpoint: s.s3.endpoint, region: s.s3.region, forcePathStyle: true },
    temporal: { address: s.temporalAddress, namespace: s.temporalNamespace, taskQueues: queues, ...((body.temporal as object) ?? {}) },
  };
  const file = path.join(dir, 'sweep.yaml');
  writeFileSync(file, stringify(spec));
  const store = openStore(storageUri, {
    endpoint: s.s3.endpoint,
    region: s.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.s3.accessKeyId, secretAccessKey: s.s3.secretAccessKey },
  });
  return { file, dir, queues, storageUri, store };
}

/** The deterministic result artifacts of every unit: key -> bytes (provenance and checkpoints left out). */
export async function resultArtifacts(store: ArtifactStore): Promise<Map<string, Buffer>> {
  const keys = (await store.list('units/')).filter((k) => /\/(history\.safetensors|frontier\.json|result\.json)$/.test(k));
  const out = new Map<string, Buffer>();
  for (const k of keys) out.set(k, Buffer.from((await store.get(k))!));
  return out;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Times the sweep's `progress` query every `everyMs` until the workflow leaves RUNNING; returns the latencies (ms) of
 * the queries whose answer says `during` (a query answered late still counts: it was asked then).
 */
export async function progressLatencies(handle: WorkflowHandle, during: (p: SweepProgress) => boolean, everyMs: number): Promise<number[]> {
  const latencies: number[] = [];
  for (;;) {
    const t0 = performance.now();
    const p = await handle.query<SweepProgress>('progress');
    const ms = performance.now() - t0;
    if (during(p)) latencies.push(ms);
    if ((await handle.describe()).status.name !== 'RUNNING') return latencies;
    await new Promise((res) => setTimeout(res, everyMs));
  }
}
