// The S3 store: objects under `s3://bucket/prefix/`, through @aws-sdk/client-s3 (any S3-compatible server
// with `endpoint` + path-style). PUT is atomic in S3; big bodies go through lib-storage's multipart Upload,
// whose object appears only when the upload completes (a failed upload is aborted, leaving nothing).
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UserError } from '../errors.js';
import { checkKey, checkPrefix, compareKeys, isValidKey } from './keys.js';
import { checkSourceFile } from './local.js';
import type { ArtifactStore, StoreOptions } from './types.js';

/** Bodies above this go through multipart upload (S3 allows 5 GiB in one PUT, but one failed PUT redoes it all). */
export const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
/** Part size for multipart uploads; grows for files so big that 10,000 parts (S3's limit) would not hold them. */
const PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight at once: memory is at most PART_SIZE * QUEUE_SIZE per upload. */
const QUEUE_SIZE = 4;
/**
 * Every S3 request's deadlines: a connection must open within CONNECT_TIMEOUT_MS, and a request whose socket
 * stays silent for the idle timeout (StoreOptions.timeoutMs, `DREAMSWEEP_S3_TIMEOUT` seconds, default 30 s)
 * fails with a TimeoutError, which workers treat as an outage. Without them a frozen server hangs every call.
 */
const DEFAULT_S3_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** S3's limit on a key, in UTF-8 bytes, prefix included. */
const MAX_OBJECT_KEY_BYTES = 1024;

/** Why: `s3://bucket/prefix` is how users, the AWS CLI and sweep files name a place in S3. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/s.exec(uri);
  if (!m) throw badUri(uri, 'it does not start with "s3://"');
  const bucket = m[1]!;
  // Loose on purpose: S3-compatible servers accept more than AWS's 3-63 lowercase characters.
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(bucket)) throw badUri(uri, `"${bucket}" is not a bucket name`);
  return { bucket, prefix: m[2] ?? '' };
}

/** Why: an S3 store under one bucket and prefix; `ensureBucket` is for tests and embedded setups. */
export class S3Store implements ArtifactStore {
  readonly uri: string;
  readonly bucket: string;
  /** Prefix of every object key, without the trailing "/"; "" for the bucket's root. */
  readonly prefix: string;
  readonly client: S3Client;
  private readonly pageSize: number | undefined;

  constructor(uri: string, options: StoreOptions = {}) {
    const { bucket, prefix } = parseS3Uri(uri);
    const root = prefix.replace(/\/+$/, '');
    if (root !== '' && !isValidKey(root)) {
      throw badUri(uri, 'its prefix must be a valid key path (no empty, "." or ".." segments, no backslash or NUL)');
    }
    this.bucket = bucket;
    this.prefix = root;
    this.uri = `s3://${bucket}${root ? `/${root}` : ''}`;
    this.client = s3Client(options);
    this.pageSize = options.listPageSize;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const Key = this.objectKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      return await out.Body!.transformToByteArray();
    } catch (e) {
      if (isMissingKey(e)) return undefined;
      throw s3Failure(e, 'get', this.locate(key));
    }
  }

  async put(key: string, body: Uint8Array | string, meta?: { contentType?: string }): Promise<void> {
    const Key = this.objectKey(key);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const params = { Bucket: this.bucket, Key, Body: bytes, ContentType: meta?.contentType };
    try {
      if (bytes.byteLength > MULTIPART_THRESHOLD) await this.upload(params, bytes.byteLength);
      else await this.client.send(new PutObjectCommand(params));
    } catch (e) {
      throw s3Failure(e, 'put', this.locate(key));
    }
  }

  async putFile(key: string, file: string): Promise<void> {
    const Key = this.objectKey(key);
    const size = await checkSourceFile(file, this.locate(key));
    try {
      // Upload sends one PutObject when the file fits in one part, a multipart upload otherwise.
      await this.upload({ Bucket: this.bucket, Key, Body: createReadStream(file) }, size);
    } catch (e) {
      throw s3Failure(e, 'putFile', this.locate(key));
    }
  }

  async exists(key: string): Promise<boolean> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return true;
    } catch (e) {
      // HEAD answers carry no body: a missing bucket is also a bare 404 here, unlike in `get`.
      if (isMissingKey(e)) return false;
      throw s3Failure(e, 'exists', this.locate(key));
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const base = this.prefix ? `${this.prefix}/` : '';
    const keys: string[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: this.client, pageSize: this.pageSize }, { Bucket: this.bucket, Prefix: base + prefix })) {
        for (const o of page.Contents ?? []) {
          const key = o.Key?.slice(base.length) ?? '';
          // Foreign objects no key can name (console "dir/" markers, "a//b") are not objects of this store.
          if (isValidKey(key)) keys.push(key);
        }
      }
    } catch (e) {
      throw s3Failure(e, 'list', `${this.uri}/${prefix}`);
    }
    return keys.sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (e) {
      if (isMissingKey(e)) return;
      throw s3Failure(e, 'delete', this.locate(key));
    }
  }

  async openRead(key: string): Promise<NodeJS.ReadableStream> {
    return getStream(this.client, this.bucket, this.objectKey(key), this.locate(key));
  }

  /** Creates the bucket unless this account already has it. The store itself never creates anything. */
  async ensureBucket(): Promise<void> {
    const region = await this.client.config.region();
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          // AWS wants the region spelled out everywhere but us-east-1 (where it rejects it).
          ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
        }),
      );
    } catch (e) {
      if ((e as Error)?.name === 'BucketAlreadyOwnedByYou') return;
      throw s3Failure(e, 'create bucket', `s3://${this.bucket}`);
    }
  }

  /** Why: error messages name the object as one address, `s3://bucket/prefix/key`. */
  locate(key: string): string {
    return `${this.uri}/${key}`;
  }

  private objectKey(key: string): string {
    const full = this.prefix ? `${this.prefix}/${checkKey(key)}` : checkKey(key);
    if (Buffer.byteLength(full, 'utf8') > MAX_OBJECT_KEY_BYTES) {
      throw new UserError('E_STORE_KEY', `invalid store key ${JSON.stringify(key)}: ${this.locate(key)} is longer than S3's ${MAX_OBJECT_KEY_BYTES} bytes`);
    }
    return full;
  }

  private async upload(params: { Bucket: string; Key: string; Body: Uint8Array | Readable; ContentType?: string }, size: number) {
    const partSize = Math.max(PART_SIZE, Math.ceil(size / 10_000));
    // leavePartsOnError false (the default): a failed upload is aborted, so no object and no stray parts.
    await new Upload({ client: this.client, params, partSize, queueSize: QUEUE_SIZE, leavePartsOnError: false }).done();
  }
}

/** Why: corpus readers open `s3://bucket/key` objects that live outside any store. */
export async function getStream(client: S3Client, bucket: string, key: string, shownAs: string): Promise<NodeJS.ReadableStream> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out.Body as Readable;
  } catch (e) {
    if (isMissingKey(e)) {
      throw new UserError('E_STORE_NOT_FOUND', `${shownAs} does not exist; check the key and the store URI`, { cause: e });
    }
    throw s3Failure(e, 'read', shownAs);
  }
}

/** Why: listing a corpus given as an `s3://bucket/prefix`, objects named by their full URIs. */
export async function listS3Uri(client: S3Client, uri: string, pageSize?: number): Promise<string[]> {
  const { bucket, prefix } = parseS3Uri(uri);
  const out: string[] = [];
  try {
    for await (const page of paginateListObjectsV2({ client, pageSize }, { Bucket: bucket, Prefix: prefix })) {
      for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) out.push(`s3://${bucket}/${o.Key}`);
    }
  } catch (e) {
    throw s3Failure(e, 'list', uri);
  }
  return out.sort(compareKeys);
}

// On Node 20 the SDK prints an 8-line notice (before any output) that SDK versions published after
// January 2027 will need Node 22. The locked SDK runs on Node 20.19, which dreamsweep supports; the notice
// is the only thing this switch silences (SDK errors are thrown, not warned). A user's own setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// One client per distinct options: clients hold connection pools, and a stream from `openUri` needs its
// client alive until read. `closeS3Clients` releases them all (worker shutdown, tests).
const clients = new Map<string, S3Client>();

/** An endpoint the SDK cannot parse fails inside the first request ("Invalid URL"): refuse it at once, saying where it came from. */
function checkedEndpoint(endpoint: string, what: string): string {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    // not a URL
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new UserError('E_STORE_ENDPOINT', `${what} ${JSON.stringify(endpoint)}: expected an http(s) URL such as http://127.0.0.1:9000; omit it for AWS S3`);
  }
  return endpoint;
}

/** Why: every store and URI helper with equal options shares one client (and its sockets). */
export function s3Client(options: StoreOptions = {}): S3Client {
  const { endpoint, region, forcePathStyle, credentials, maxAttempts } = options;
  const timeoutMs = options.timeoutMs ?? envTimeoutMs();
  if (endpoint === undefined) {
    // The SDK's own fallbacks, the S3 one first.
    const env = ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'].find((v) => process.env[v]);
    if (env) checkedEndpoint(process.env[env]!, env);
  }
  const checksums = options.checksums ?? endpoint === undefined;
  const id = JSON.stringify([endpoint, region, forcePathStyle, credentials?.accessKeyId, credentials?.secretAccessKey, maxAttempts, checksums, timeoutMs]);
  let client = clients.get(id);
  if (!client) {
    const config: S3ClientConfig = {
      region: region ?? defaultRegion,
      forcePathStyle: forcePathStyle ?? endpoint !== undefined,
      // A bucket in another region than configured answers 301; follow it instead of failing (AWS only).
      followRegionRedirects: true,
      // 'WHEN_SUPPORTED' (the SDK default since 3.729): CRC32 sent with every PUT, checked on every GET.
      // 'WHEN_REQUIRED': only where an operation demands it, as SDKs did before; see StoreOptions.checksums.
      requestChecksumCalculation: checksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
      responseChecksumValidation: checksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
      // Idle (not total) deadline: a big object streams for as long as bytes keep coming.
      requestHandler: { connectionTimeout: Math.min(CONNECT_TIMEOUT_MS, timeoutMs), socketTimeout: timeoutMs },
    };
    if (endpoint !== undefined) config.endpoint = checkedEndpoint(endpoint, 'the S3 endpoint');
    if (credentials !== undefined) config.credentials = credentials;
    if (maxAttempts !== undefined) config.maxAttempts = maxAttempts;
    client = new S3Client(config);
    clients.set(id, client);
  }
  return client;
}

function envTimeoutMs(): number {
  const raw = process.env.DREAMSWEEP_S3_TIMEOUT;
  if (raw === undefined || raw === '') return DEFAULT_S3_TIMEOUT_MS;
  const s = Number(raw);
  if (!(Number.isFinite(s) && s > 0)) {
    throw new UserError('E_STORE_TIMEOUT', `DREAMSWEEP_S3_TIMEOUT=${JSON.stringify(raw)}: expected a positive number of seconds (default ${DEFAULT_S3_TIMEOUT_MS / 1000})`);
  }
  return Math.round(s * 1000);
}

/** Why: lets a worker or a test process exit promptly instead of waiting for idle sockets. */
export function closeS3Clients(): void {
  for (const c of clients.values()) c.destroy();
  clients.clear();
}

// The SDK's own region chain (AWS_REGION, the shared config file's profile), then us-east-1. The SDK asks
// for the region on every request: resolve it once per process.
let regionOnce: Promise<string> | undefined;
function defaultRegion(): Promise<string> {
  regionOnce ??= (async () => {
    const probe = new S3Client({});
    try {
      return await probe.config.region();
    } catch {
      return 'us-east-1';
    } finally {
      probe.destroy();
    }
  })();
  return regionOnce;
}

// Only these names: servers answer 404 for other things too (versitygw: an unknown access key), and
// those must not pass for "absent". `NotFound` is what the SDK calls a bodiless 404 (HEAD).
function isMissingKey(e: unknown): boolean {
  const name = (e as Error)?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

const ACCESS_ERRORS = new Set([
  'AccessDenied',
  'CredentialsProviderError',
  'ExpiredToken',
  'InvalidAccessKeyId',
  'InvalidToken',
  'SignatureDoesNotMatch',
  'XAdminUserNotFound', // versitygw: no such access key
]);

// Filesystem-backed servers (versitygw posix, MinIO) cannot hold "a" beside "a/b", like the local store.
const CONFLICT_ERRORS = new Set(['ObjectParentIsFile', 'ExistingObjectIsDirectory', 'DirectoryObjectContainsData', 'XMinioParentIsObject', 'XMinioObjectExistsAsDirectory']);

// Mistakes a retry cannot fix become UserErrors (never retried); everything else keeps its cause, so
// callers (and Temporal's retry policy) can tell a network blip from a bug.
function s3Failure(e: unknown, op: string, where: string): Error {
  if (e instanceof UserError) return e;
  const name = (e as Error)?.name ?? 'Error';
  const message = (e as Error)?.message ?? String(e);
  if (name === 'NoSuchBucket') {
    return new UserError('E_STORE_NO_BUCKET', `${op} ${where}: the bucket does not exist; create it (\`aws s3 mb\`) or fix the URI`, { cause: e });
  }
  if (CONFLICT_ERRORS.has(name)) {
    return new UserError(
      'E_STORE_KEY_CONFLICT',
      `${op} ${where}: ${name}: ${message}. This server keeps objects as files, so a key cannot also be a prefix of ` +
        'other keys ("a" and "a/b" cannot both exist); choose another key',
      { cause: e },
    );
  }
  const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  // 401/403 by status too: a bodiless answer (HEAD) or an unknown error name still means "not allowed".
  if (ACCESS_ERRORS.has(name) || status === 401 || status === 403) {
    return new UserError(
      'E_STORE_ACCESS',
      `${op} ${where}: ${name}${status ? ` (HTTP ${status})` : ''}: ${message}. Check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ` +
        'or the store options) and that they may access this bucket',
      { cause: e },
    );
  }
  return new Error(`${op} ${where} failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${message}`, { cause: e });
}

function badUri(uri: string, why: string): UserError {
  return new UserError('E_STORE_URI', `invalid store URI ${JSON.stringify(uri)}: ${why}; expected s3://bucket/prefix, file:///abs/dir or a path`);
}
