// S3 URIs and store construction, without a server: parsing, prefixes, and what is refused up front.
// Behaviour against a real server is in test/integration/store.test.ts.
import { describe, expect, it } from 'vitest';
import { closeS3Clients, openStore, openUri, parseS3Uri, S3Store, s3Client } from '../../../core/store/index.js';
import { expectCode } from './contract.js';

describe('S3 URIs', () => {
  it('splits s3://bucket/prefix, keeping the prefix as written', () => {
    expect(parseS3Uri('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
    expect(parseS3Uri('s3://bucket/')).toEqual({ bucket: 'bucket', prefix: '' });
    expect(parseS3Uri('s3://my.bucket-1/runs/x/')).toEqual({ bucket: 'my.bucket-1', prefix: 'runs/x/' });
    expect(parseS3Uri('s3://b/corpus/part 0.jsonl.zst')).toEqual({ bucket: 'b', prefix: 'corpus/part 0.jsonl.zst' });
  });

  it('refuses what is not an S3 URI with E_STORE_URI', async () => {
    for (const uri of ['s3://', 's3:///key', 'S3:/bucket', 'bucket/key', 'https://b.s3.amazonaws.com/k', 's3://bad bucket/x']) {
      await expectCode(() => parseS3Uri(uri), 'E_STORE_URI');
    }
  });

  it('opens an S3 store named without a trailing slash, and refuses a prefix that is no key path', async () => {
    const store = openStore('s3://bucket/runs/sweep-1/', { endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    expect(store).toBeInstanceOf(S3Store);
    expect(store.uri).toBe('s3://bucket/runs/sweep-1');
    expect((store as S3Store).prefix).toBe('runs/sweep-1');
    expect(openStore('s3://bucket').uri).toBe('s3://bucket');
    for (const uri of ['s3://bucket/../x', 's3://bucket/a//b', 's3://bucket/./a']) await expectCode(() => openStore(uri), 'E_STORE_URI');
  });

  it('refuses a key longer than S3 allows once the prefix is added', async () => {
    const store = openStore(`s3://bucket/${'p/'.repeat(400)}x`, { endpoint: 'http://127.0.0.1:9' });
    await expectCode(store.get(`${'k'.repeat(200)}/${'k'.repeat(200)}`), 'E_STORE_KEY');
  });

  it('refuses to open a bucket or prefix as one object', async () => {
    for (const uri of ['s3://bucket', 's3://bucket/', 's3://bucket/dir/']) await expectCode(openUri(uri), 'E_STORE_URI');
  });

  it('shares one client per distinct options, with path style on for a custom endpoint', async () => {
    const opts = { endpoint: 'http://127.0.0.1:9', region: 'eu-west-1' };
    const a = s3Client(opts);
    expect(s3Client({ ...opts })).toBe(a);
    expect(s3Client({ ...opts, region: 'us-east-1' })).not.toBe(a);
    expect(a.config.forcePathStyle).toBe(true);
    expect(await a.config.region()).toBe('eu-west-1');
    expect(s3Client({ region: 'us-east-1' }).config.forcePathStyle).toBe(false);
    closeS3Clients();
    expect(s3Client(opts)).not.toBe(a);
    closeS3Clients();
  });
});

describe('S3 store without a server', () => {
  it('propagates a connection failure as a plain (retryable) error naming the object', async () => {
    const { freePort } = await import('../../../infra/servers.js');
    const store = openStore('s3://bucket/runs', {
      endpoint: `http://127.0.0.1:${await freePort()}`,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });
    const e = await store.get('unit/result.json').then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(e).toBeInstanceOf(Error);
    expect((e as { code?: string }).code).toBeUndefined();
    expect(e!.message).toContain('s3://bucket/runs/unit/result.json');
    closeS3Clients();
  });
});
