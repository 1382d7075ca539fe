// The artifact store's interface: what workflows, activities and the CLI use to keep results, whatever
// the backend (a local directory or an S3 bucket/prefix).

/** Why: one small interface lets every caller run against a directory in tests and S3 in production. */
export interface ArtifactStore {
  /** Where the store lives, e.g. `file:///abs/dir` or `s3://bucket/prefix`; used in every error message. */
  readonly uri: string;
  /** The object's bytes; undefined when absent. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Atomic: a reader sees the old object (or none) or the whole new one, never part of it. */
  put(key: string, body: Uint8Array | string, meta?: { contentType?: string }): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Keys starting with `prefix` (a string prefix, as in S3), recursive, sorted by UTF-8 bytes. */
  list(prefix: string): Promise<string[]>;
  /** Removes the object; an absent key is fine. */
  delete(key: string): Promise<void>;
  /** A stream of the object, for big ones (corpus shards); throws UserError `E_STORE_NOT_FOUND` naming uri+key. */
  openRead(key: string): Promise<NodeJS.ReadableStream>;
  /** Stores a local file, streaming it (multipart for big ones on S3); atomic like `put`. */
  putFile(key: string, file: string): Promise<void>;
}

/** Why: S3-compatible servers (versitygw, MinIO) need an endpoint and path-style addressing; AWS needs neither. */
export interface StoreOptions {
  /** E.g. `http://127.0.0.1:9000`. Unset: AWS (or `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`). */
  endpoint?: string;
  /** Unset: the AWS chain (`AWS_REGION`, the profile's region), then `us-east-1`. */
  region?: string;
  /** Bucket in the path, not the host name. Default: true when `endpoint` is given, else false. */
  forcePathStyle?: boolean;
  /** Unset: the standard AWS chain (env vars, shared profiles, SSO, web identity, container/instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SDK attempts per request (first try included). Unset: the SDK default, 3 (or `AWS_MAX_ATTEMPTS`). */
  maxAttempts?: number;
  /**
   * Flexible checksums (CRC32 sent with each PUT, checked on each GET). Default: on for AWS, off with a
   * custom `endpoint`: S3-compatible servers vary in support, and versitygw 1.7 (posix) can pair one
   * writer's body with another's checksum when two PUTs of one key race, after which every GET fails.
   */
  checksums?: boolean;
  /** Idle deadline of each S3 request in ms (no byte for this long: TimeoutError). Unset: `DREAMSWEEP_S3_TIMEOUT` s, else 30 s. */
  timeoutMs?: number;
  /** Keys per ListObjectsV2 page. Unset: the server's maximum, 1000. Small values exercise pagination in tests. */
  listPageSize?: number;
}
