// The S3 artifact store against the real versitygw server: the shared contract (one bucket per test, the
// store under a prefix), multipart uploads, pagination, atomicity, foreign objects and error mapping.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { closeS3Clients, listUri, MULTIPART_THRESHOLD, openStore, openUri, S3Store, type StoreOptions } from '../../core/store/index.js';
import { describeStoreContract, expectCode, pattern, readAll } from '../core/store/contract.js';

function options(extra: StoreOptions = {}): StoreOptions {
  const { endpoint, region, accessKeyId, secretAccessKey } = inject('servers').s3;
  return { endpoint, region, credentials: { accessKeyId, secretAccessKey }, ...extra };
}

let buckets = 0;
function uniqueBucket(): string {
  return `store-${process.pid}-${Date.now().toString(36)}-${++buckets}`;
}

/** A store under a prefix of a fresh bucket, so keys that escape would land in the same bucket, visibly. */
async function freshStore(extra: StoreOptions = {}, prefix = 'root/inner'): Promise<S3Store> {
  const store = new S3Store(`s3://${uniqueBucket()}/${prefix}`, options(extra));
  await store.ensureBucket();
  return store;
}

afterAll(() => closeS3Clients());

describeStoreContract('S3 store (versitygw)', {
  open: () => freshStore(),
  bigBytes: MULTIPART_THRESHOLD + 4 * 1024 * 1024, // 20 MiB: a multipart upload
});

describe('S3 store against versitygw', () => {
  it('uploads a 20 MiB body in parts and reads it back whole, also as a stream', async () => {
    const store = await freshStore();
    const body = Buffer.from(pattern(20 * 1024 * 1024, 7));
    await store.put('big/body.bin', body);
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: 'root/inner/big/body.bin' }));
    expect(head.ETag).toMatch(/-3"$/); // 8 MiB parts: a multipart upload's ETag counts its parts
    expect(Buffer.from((await store.get('big/body.bin'))!).equals(body)).toBe(true);
    expect((await readAll(await store.openRead('big/body.bin'))).equals(body)).toBe(true);
  });

  it('sends a big file in parts and a small one in one PUT', async () => {
    const store = await freshStore();
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-store-s3-'));
    const big = path.join(dir, 'shard.bin');
    const small = path.join(dir, 'small.bin');
    writeFileSync(big, pattern(17 * 1024 * 1024, 8));
    writeFileSync(small, 'small');
    await store.putFile('corpus/shard.bin', big);
    await store.putFile('corpus/small.bin', small);
    const etag = async (key: string) => (await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: `root/inner/${key}` }))).ETag;
    expect(await etag('corpus/shard.bin')).toMatch(/-3"$/);
    expect(await etag('corpus/small.bin')).not.toContain('-');
    expect((await readAll(await store.openRead('corpus/shard.bin'))).length).toBe(17 * 1024 * 1024);
  });

  it('keeps the content type given to put', async () => {
    const store = await freshStore();
    await store.put('report/index.html', '<p>hi</p>', { contentType: 'text/html; charset=utf-8' });
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: 'root/inner/report/index.html' }));
    expect(head.ContentType).toBe('text/html; charset=utf-8');
  });

  it('pages through listings (page size 7, 45 keys) and gets every key once, in order', async () => {
    const store = await freshStore({ listPageSize: 7 });
    const keys = Array.from({ length: 45 }, (_, i) => `units/${String(i % 9)}/${String(i).padStart(3, '0')}.json`);
    await Promise.all(keys.map((k) => store.put(k, k)));
    expect(await store.list('')).toEqual([...keys].sort());
    expect(await store.list('units/3/')).toEqual(keys.filter((k) => k.startsWith('units/3/')).sort());
    const uris = await listUri(`s3://${store.bucket}/root/inner/units/`, options({ listPageSize: 4 }));
    expect(uris).toHaveLength(45);
    expect(uris[0]).toBe(`s3://${store.bucket}/root/inner/units/0/000.json`);
  });

  it('sees only its own prefix and skips directory markers', async () => {
    const store = await freshStore();
    const raw = (Key: string, Body = 'x') => store.client.send(new PutObjectCommand({ Bucket: store.bucket, Key, Body }));
    await raw('root/secret'); // outside the store
    await raw('root/innerX/file'); // shares the string prefix "root/inner" but not the store's "root/inner/"
    await raw('root/inner/dir/', ''); // a console's directory marker
    await store.put('a', '1');
    expect(await store.list('')).toEqual(['a']);
    await expectCode(store.get('../secret'), 'E_STORE_KEY');
    await expectCode(store.get('../innerX/file'), 'E_STORE_KEY');
    expect(await store.get('a')).toEqual(new TextEncoder().encode('1'));
  });

  it('checks CRC32 checksums end to end when asked to', async () => {
    const store = await freshStore({ checksums: true });
    const body = Buffer.from(pattern(MULTIPART_THRESHOLD + 1024, 9));
    await store.put('sums/big.bin', body);
    await store.put('sums/small.bin', 'small');
    expect(Buffer.from((await store.get('sums/big.bin'))!).equals(body)).toBe(true);
    expect(new TextDecoder().decode(await store.get('sums/small.bin'))).toBe('small');
  });

  it('opens and lists any s3:// URI with the same options', async () => {
    const store = await freshStore({}, 'corpora');
    await store.put('pile/part-1.jsonl', '{"text":"b"}\n');
    await store.put('pile/part-0.jsonl', '{"text":"a"}\n');
    const uris = await listUri(`s3://${store.bucket}/corpora/pile/`, options());
    expect(uris).toEqual([`s3://${store.bucket}/corpora/pile/part-0.jsonl`, `s3://${store.bucket}/corpora/pile/part-1.jsonl`]);
    expect((await readAll(await openUri(uris[1]!, options()))).toString()).toBe('{"text":"b"}\n');
    const e = await expectCode(openUri(`s3://${store.bucket}/corpora/pile/part-9.jsonl`, options()), 'E_STORE_NOT_FOUND');
    expect(e.message).toContain(`s3://${store.bucket}/corpora/pile/part-9.jsonl`);
    expect(await listUri(`s3://${store.bucket}/nothing/`, options())).toEqual([]);
  });

  it('creates its bucket only through ensureBucket, which may run twice', async () => {
    const bucket = uniqueBucket();
    const store = openStore(`s3://${bucket}/x`, options()) as S3Store;
    await expectCode(store.put('k', 'v'), 'E_STORE_NO_BUCKET');
    await expectCode(store.get('k'), 'E_STORE_NO_BUCKET');
    await expectCode(store.list(''), 'E_STORE_NO_BUCKET');
    expect(await store.exists('k')).toBe(false); // HEAD's 404 has no body to tell a missing bucket apart
    await store.ensureBucket();
    await store.ensureBucket();
    await store.put('k', 'v');
    expect(await store.list('')).toEqual(['k']);
  });

  it('turns wrong credentials into E_STORE_ACCESS naming the object', async () => {
    const good = await freshStore();
    const bad = openStore(good.uri, options({ credentials: { accessKeyId: 'nobody', secretAccessKey: randomBytes(8).toString('hex') } }));
    const e = await expectCode(bad.put('k', 'v'), 'E_STORE_ACCESS');
    expect(e.message).toContain(`${good.uri}/k`);
    await expectCode(bad.get('k'), 'E_STORE_ACCESS');
  });
});
