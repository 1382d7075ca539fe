// Corpus readers: documents one at a time from `.txt` (the whole file is one document), `.jsonl` (one
// JSON object per line, text in a configurable field) and `.jsonl.zst` (the same, zstd-compressed, streamed
// through fzstd so no file is ever fully in memory). A shard can be a byte range of a file and a read can
// resume at a document; bad input is a UserError naming file and line, or a counted skip with `skipBad`.
import { Decompress } from 'fzstd';
import { UserError } from '../errors.js';
import { SkipLog } from './skips.js';
import { dropBytes, formatOf, storeFor, type CorpusStore } from './source.js';

/**
 * A file, or the part of it whose lines *start* in [start, end): offsets count the file's decompressed
 * bytes. Byte ranges that tile a file read each line exactly once. A `.txt` document starts at byte 0.
 */
export interface Shard {
  uri: string;
  start?: number;
  end?: number;
}

/** Where a document is: the file, its 1-based line when known, and its byte offset (decompressed). */
export interface DocumentSource {
  file: string;
  /** Known when the read began at the file's start or resumed from a known line. */
  line?: number;
  byteOffset: number;
}

export interface CorpusDocument {
  text: string;
  source: DocumentSource;
}

export interface ReadOptions {
  /** JSON field holding the text in `.jsonl` files (a top-level key). Default `text`. */
  textField?: string;
  /** Count and skip bad lines (and undecodable `.zst` remainders) instead of failing. Default false. */
  skipBad?: boolean;
  /** Where skips are recorded (required to see them; a fresh log is used otherwise). */
  skips?: SkipLog;
  /** Serves `scheme://` URIs; local paths use fs. */
  store?: CorpusStore;
  /** Resume at this document (a line start, from a DocumentSource) instead of the shard's start. */
  from?: { byteOffset: number; line?: number };
}

export const DEFAULT_TEXT_FIELD = 'text';

/** Why: the one place that turns corpus files into documents, with errors that say file and line. */
export async function* readDocuments(shard: Shard | string, options: ReadOptions = {}): AsyncGenerator<CorpusDocument> {
  const { uri, start = 0, end } = typeof shard === 'string' ? { uri: shard } : shard;
  const format = formatOf(uri);
  if (!format) throw new UserError('E_CORPUS_FORMAT', `${uri}: unsupported corpus file; expected .txt, .jsonl or .jsonl.zst`);
  const store = storeFor(uri, options.store);
  const skips = options.skips ?? new SkipLog();
  const from = options.from;
  const begin = from?.byteOffset ?? start;

  if (format === 'txt') {
    if (begin !== 0 || end === 0) return; // the document starts at byte 0, outside this range
    const bytes = await readAll(await store.open(uri));
    const text = decodeUtf8(bytes);
    if (text === undefined) {
      const message = 'not valid UTF-8; re-encode the file as UTF-8';
      if (!options.skipBad) throw new UserError('E_CORPUS_BAD_UTF8', `${uri}: ${message}`);
      skips.record({ code: 'E_CORPUS_BAD_UTF8', file: uri, byteOffset: 0, message });
      return;
    }
    yield { text, source: { file: uri, line: 1, byteOffset: 0 } };
    return;
  }

  // A read that starts mid-file begins one byte early and drops the partial line it lands in: the line
  // starting exactly at `begin` is kept (the byte before it is a newline), a line straddling it is not.
  // A resume must land on a line start: there the dropped piece is empty.
  const readFrom = begin === 0 ? 0 : begin - 1;
  const decompressed = { offset: 0 };
  const bytes = format === 'jsonl' ? await store.open(uri, { start: readFrom }) : dropBytes(unzstd(await store.open(uri), uri, decompressed), readFrom);
  let line = from ? from.line : begin === 0 ? 1 : undefined;
  let dropFirst = begin !== 0;
  const field = options.textField ?? DEFAULT_TEXT_FIELD;

  try {
    for await (const { bytes: raw, offset } of splitLines(bytes, readFrom)) {
      if (dropFirst) {
        dropFirst = false;
        if (from && raw.length > 0) {
          throw new UserError('E_SCAN_RESUME_MISMATCH', `${uri}: the checkpoint's document at byte ${begin} does not start a line; the file changed since the checkpoint`);
        }
        continue;
      }
      if (end !== undefined && offset >= end) return;
      const lineNo = line;
      if (line !== undefined) line++;
      const where = lineNo !== undefined ? `${uri}:${lineNo}` : `${uri} (byte ${offset})`;
      const skip = (code: string, message: string): void => {
        if (!options.skipBad) throw new UserError(code, `${where}: ${message}`);
        skips.record({ code, file: uri, byteOffset: offset, message });
      };

      let text = decodeUtf8(raw);
      if (text === undefined) {
        skip('E_CORPUS_BAD_UTF8', 'not valid UTF-8; re-encode the file as UTF-8');
        continue;
      }
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim() === '') continue; // blank lines separate nothing and are not documents
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (e) {
        skip('E_CORPUS_BAD_JSON', `not valid JSON (${(e as Error).message}); each line must be one JSON object`);
        continue;
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        skip('E_CORPUS_MISSING_FIELD', `expected a JSON object with a "${field}" field, got ${Array.isArray(obj) ? 'an array' : typeof obj}`);
        continue;
      }
      const value = (obj as Record<string, unknown>)[field];
      if (value === undefined) {
        const keys = Object.keys(obj)
          .slice(0, 8)
          .map((k) => JSON.stringify(k))
          .join(', ');
        skip('E_CORPUS_MISSING_FIELD', `no "${field}" field (keys: ${keys || 'none'}); set the text field option to the key holding the text`);
        continue;
      }
      if (typeof value !== 'string') {
        skip('E_CORPUS_BAD_FIELD', `field "${field}": expected a string, got ${value === null ? 'null' : typeof value}`);
        continue;
      }
      yield { text: value, source: { file: uri, ...(lineNo !== undefined ? { line: lineNo } : {}), byteOffset: offset } };
    }
  } catch (e) {
    if (!(options.skipBad && e instanceof UserError && e.code === 'E_CORPUS_BAD_ZSTD')) throw e;
    // The rest of the file is unreadable: one skip for it, then the next file.
    // (The thrown message names a compressed offset that depends on chunking; the record must not.)
    const message = 'corrupt or truncated zstd data; the rest of the file was skipped';
    skips.record({ code: e.code, file: uri, byteOffset: decompressed.offset, message });
  }
}

/** Documents of several shards in the given order (resolveShards sorts them). */
export async function* readCorpus(shards: ReadonlyArray<Shard | string>, options: Omit<ReadOptions, 'from'> = {}): AsyncGenerator<CorpusDocument> {
  for (const shard of shards) yield* readDocuments(shard, options);
}

// ---------------------------------------------------------------------------------------------------------
// Byte plumbing.

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Streams zstd decompression (multi-frame, any window size fzstd accepts); failures become E_CORPUS_BAD_ZSTD. */
export async function* unzstd(chunks: AsyncIterable<Uint8Array>, uri: string, progress: { offset: number } = { offset: 0 }): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const d = new Decompress((data) => {
    if (data.length) out.push(data);
  });
  let compressed = 0;
  // Blocks decoded before a failure are still yielded, so what comes out never depends on chunking.
  const push = (chunk: Uint8Array, final: boolean): UserError | undefined => {
    try {
      d.push(chunk, final);
      return undefined;
    } catch (e) {
      return new UserError(
        'E_CORPUS_BAD_ZSTD',
        `${uri}: corrupt or truncated zstd data near compressed byte ${compressed} (${(e as Error).message}); ` + 'check the file with `zstd -t`',
        { cause: e },
      );
    }
  };
  const drain = function* (): Generator<Uint8Array> {
    for (const o of out.splice(0)) {
      progress.offset += o.length;
      yield o;
    }
  };
  for await (const chunk of chunks) {
    const failed = push(chunk, false);
    compressed += chunk.length;
    yield* drain();
    if (failed) throw failed;
  }
  const failed = push(new Uint8Array(0), true);
  yield* drain();
  if (failed) throw failed;
}

/** Lines (without the newline) with the offset of their first byte; `base` is the offset of the first chunk. */
async function* splitLines(chunks: AsyncIterable<Uint8Array>, base: number): AsyncGenerator<{ bytes: Uint8Array; offset: number }> {
  let pending: Uint8Array[] = [];
  let lineStart = base;
  for await (const chunk of chunks) {
    let i = 0;
    for (let j = chunk.indexOf(10, i); j >= 0; j = chunk.indexOf(10, i)) {
      const piece = chunk.subarray(i, j);
      const bytes = pending.length ? concat([...pending, piece]) : piece;
      pending = [];
      yield { bytes, offset: lineStart };
      lineStart += bytes.length + 1;
      i = j + 1;
    }
    if (i < chunk.length) pending.push(chunk.slice(i)); // a copy: the source may reuse its buffer
  }
  if (pending.length) yield { bytes: concat(pending), offset: lineStart };
}
