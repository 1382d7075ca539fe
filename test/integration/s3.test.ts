// An object makes a round trip through the real S3 server (versitygw) with @aws-sdk/client-s3.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { startS3 } from '../../infra/servers.js';
import { testLogDir } from '../helpers/servers.js';

interface Endpoint {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

function client(s3: Endpoint): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    maxAttempts: 1,
  });
}

async function roundTrip(s3: Endpoint, bucket: string): Promise<Uint8Array> {
  const c = client(s3);
  try {
    await c.send(new CreateBucketCommand({ Bucket: bucket }));
    const body = new Uint8Array(70_000).map((_, i) => (i * 31 + 7) % 256);
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'nested/key/blob.bin', Body: body }));
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'nested/key/blob.bin' }));
    const bytes = await got.Body!.transformToByteArray();
    expect(Buffer.from(bytes).equals(Buffer.from(body))).toBe(true);
    return bytes;
  } finally {
    c.destroy();
  }
}

describe('S3 test bed', () => {
  it('stores and returns an object byte for byte', async () => {
    const bytes = await roundTrip(inject('servers').s3, `roundtrip-${Date.now()}`);
    expect(bytes.length).toBe(70_000);
  });

  it('fails once the S3 server is stopped', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-s3-stop-'));
    const server = await startS3({ root: path.join(dir, 's3'), logDir: testLogDir('s3-stop') });
    try {
      await roundTrip(server, 'before-stop');
      await server.stop();
      await expect(roundTrip(server, 'after-stop')).rejects.toThrow();
    } finally {
      await server.stop();
    }
  });
});
