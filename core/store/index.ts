// The artifact store's entry points: open a store by URI (a directory or s3://bucket/prefix), and read or
// list any object by URI (corpus readers). Backends live in local.ts and s3.ts, key rules in keys.ts.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from '../errors.js';
import { compareKeys } from './keys.js';
import { LocalStore, openLocalFile } from './local.js';
import { getStream, listS3Uri, parseS3Uri, S3Store, s3Client } from './s3.js';
import type { ArtifactStore, StoreOptions } from './types.js';

export type { ArtifactStore, StoreOptions } from './types.js';
export { checkKey, checkPrefix, compareKeys, isValidKey } from './keys.js';
export { LocalStore } from './local.js';
export { closeS3Clients, MULTIPART_THRESHOLD, parseS3Uri, S3Store, s3Client } from './s3.js';

/** Why: sweep files and the CLI name a store by one string: `s3://bucket/prefix`, `file:///dir` or a path. */
export function openStore(uri: string, options: StoreOptions = {}): ArtifactStore {
  const where = locate(uri);
  return where.kind === 's3' ? new S3Store(uri, options) : new LocalStore(where.path);
}

/** Why: corpus readers take any `s3://bucket/key`, `file://` URI or local path and want bytes. */
export async function openUri(uri: string, options: StoreOptions = {}): Promise<NodeJS.ReadableStream> {
  const where = locate(uri);
  if (where.kind === 'local') return openLocalFile(where.path, uri);
  const { bucket, prefix: key } = parseS3Uri(uri);
  if (key === '' || key.endsWith('/')) {
    throw new UserError('E_STORE_URI', `${uri} names a bucket or a prefix, not an object; give s3://bucket/path/to/object`);
  }
  return getStream(s3Client(options), bucket, key, uri);
}

/**
 * Why: a corpus given as a prefix or directory is many files. `s3://bucket/prefix` lists every object whose
 * key starts with the prefix, as full `s3://` URIs; a local directory lists its files recursively (a
 * file lists itself), as paths or `file://` URIs like the input. Sorted; absent gives [].
 */
export async function listUri(uri: string, options: StoreOptions = {}): Promise<string[]> {
  const where = locate(uri);
  if (where.kind === 's3') return listS3Uri(s3Client(options), uri, options.listPageSize);
  const files = await listFiles(where.path);
  return where.wasUrl ? files.map((f) => pathToFileURL(f).href) : files;
}

type Location = { kind: 's3' } | { kind: 'local'; path: string; wasUrl: boolean };

function locate(uri: string): Location {
  if (typeof uri !== 'string' || uri === '') throw new UserError('E_STORE_URI', `a store URI must be a non-empty string, got ${JSON.stringify(uri)}`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'local', path: path.resolve(uri), wasUrl: false };
  if (scheme === 's3') return { kind: 's3' };
  if (scheme === 'file') {
    try {
      return { kind: 'local', path: fileURLToPath(uri), wasUrl: true };
    } catch (e) {
      throw new UserError('E_STORE_URI', `invalid file URI ${JSON.stringify(uri)}: ${(e as Error).message}; use file:///absolute/dir`, { cause: e });
    }
  }
  throw new UserError('E_STORE_URI', `unsupported store URI scheme "${scheme}://" in ${JSON.stringify(uri)}; use s3://bucket/prefix, file:///abs/dir or a path`);
}

async function listFiles(p: string): Promise<string[]> {
  const s = await stat(p).catch(() => undefined);
  if (!s) return [];
  if (s.isFile()) return [p];
  if (!s.isDirectory()) return [];
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(full).catch(() => undefined))?.isFile())) out.push(full);
    }
  };
  await walk(p);
  return out.sort(compareKeys);
}
