// Where corpus bytes come from: local files through fs, anything with a scheme (`s3://...`) through an
// injected CorpusStore (the artifact store supplies one), so this module needs no cloud SDK. Also turns
// the user's inputs (files, directories, globs, prefixes) into a sorted list of shard URIs.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { UserError } from '../errors.js';

/** Byte access to objects named by URI; what the reader needs from S3 or any other remote store. */
export interface CorpusStore {
  /** URIs of every object under a prefix (`s3://bucket/pile/`), in any order. */
  list(prefix: string): Promise<string[]>;
  /** The object's bytes from byte `start` (default 0) to its end. */
  open(uri: string, options?: { start?: number }): Promise<AsyncIterable<Uint8Array>>;
}

/** A corpus file format, from its name. */
export type CorpusFormat = 'txt' | 'jsonl' | 'jsonl.zst';

/** The format of a file by its extension, or undefined if the reader does not know it. */
export function formatOf(uri: string): CorpusFormat | undefined {
  if (uri.endsWith('.jsonl.zst')) return 'jsonl.zst';
  if (uri.endsWith('.jsonl')) return 'jsonl';
  if (uri.endsWith('.txt')) return 'txt';
  return undefined;
}

const SUPPORTED = '.txt, .jsonl, .jsonl.zst';

export function isRemote(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri);
}

/** Local files through fs: a missing file is a UserError before any byte is read. */
export const localStore: CorpusStore = {
  async list(prefix) {
    const entries = await readdir(prefix, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
  },
  async open(path, options = {}) {
    await statOrThrow(path);
    return createReadStream(path, { start: options.start ?? 0, highWaterMark: 1 << 20 });
  },
};

/**
 * Why: adapts a store that can only stream whole objects (such as the artifact store's `openRead`) to
 * CorpusStore's ranged `open`, by reading and dropping the bytes before `start`.
 */
export function openBySkipping(openWhole: (uri: string) => Promise<AsyncIterable<Uint8Array>>): CorpusStore['open'] {
  return async (uri, options = {}) => {
    const whole = await openWhole(uri);
    const start = options.start ?? 0;
    if (start === 0) return whole;
    return dropBytes(whole, start);
  };
}

/** Drops the first `n` bytes of a stream. */
export async function* dropBytes(chunks: AsyncIterable<Uint8Array>, n: number): AsyncGenerator<Uint8Array> {
  let left = n;
  for await (const c of chunks) {
    if (left >= c.length) {
      left -= c.length;
      continue;
    }
    yield left > 0 ? c.subarray(left) : c;
    left = 0;
  }
}

/** The store that serves a URI: fs for local paths, the injected store for `scheme://` URIs. */
export function storeFor(uri: string, remote: CorpusStore | undefined): CorpusStore {
  if (!isRemote(uri)) return localStore;
  if (!remote) {
    throw new UserError('E_CORPUS_NO_STORE', `${uri}: no store is configured for ${uri.split(':')[0]}:// URIs; configure the artifact store (S3) or use a local path`);
  }
  return remote;
}

/**
 * Expands inputs into the sorted, de-duplicated list of corpus files to read. An input is a file, a
 * directory (every supported file below it), a glob (`data/*.jsonl.zst`), or a `scheme://` URI: an object
 * with a supported extension, else a prefix to list. Local paths become absolute. Sorting is by UTF-16
 * code units, so the order never depends on locale or on the order of the inputs.
 */
export async function resolveShards(inputs: string | readonly string[], remote?: CorpusStore): Promise<string[]> {
  const list = typeof inputs === 'string' ? [inputs] : inputs;
  if (list.length === 0) throw new UserError('E_CORPUS_EMPTY', 'corpus: no input paths given; name files, directories or globs');
  const found = new Set<string>();
  for (const input of list) for (const uri of await expand(input, remote)) found.add(uri);
  return [...found].sort(compareCodeUnits);
}

/** Plain code-unit order (not localeCompare): the same on every machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function expand(input: string, remote: CorpusStore | undefined): Promise<string[]> {
  if (isRemote(input)) {
    if (isDynamicPattern(input)) {
      throw new UserError('E_CORPUS_BAD_PATH', `${input}: globs are not supported in URIs; give a prefix such as s3://bucket/dir/`);
    }
    if (formatOf(input)) return [input];
    const found = (await storeFor(input, remote).list(input)).filter((u) => formatOf(u));
    if (found.length === 0) {
      throw new UserError('E_CORPUS_EMPTY', `${input}: no ${SUPPORTED} objects under this prefix`);
    }
    return found;
  }
  const path = resolve(input);
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) {
    if (!formatOf(path)) {
      throw new UserError('E_CORPUS_FORMAT', `${input}: unsupported corpus file; expected one of ${SUPPORTED}`);
    }
    return [path];
  }
  if (info?.isDirectory()) {
    const found = (await localStore.list(path)).filter((p) => formatOf(p)).map((p) => resolve(p));
    if (found.length === 0) throw new UserError('E_CORPUS_EMPTY', `${input}: directory has no ${SUPPORTED} files`);
    return found;
  }
  if (isDynamicPattern(input)) {
    const found = (await glob(input, { absolute: true, onlyFiles: true, expandDirectories: false })).filter((p) => formatOf(p));
    if (found.length === 0) throw new UserError('E_CORPUS_EMPTY', `${input}: the glob matched no ${SUPPORTED} files`);
    return found.map((p) => resolve(p));
  }
  throw new UserError('E_CORPUS_NOT_FOUND', `${input}: no such file or directory`);
}

async function statOrThrow(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UserError('E_CORPUS_NOT_FOUND', `${path}: not a file`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('E_CORPUS_NOT_FOUND', `${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? e}); check the path`, {
      cause: e,
    });
  }
}
