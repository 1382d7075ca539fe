// Corpus readers: documents one at a time from `.txt` (the whole file is one document), `.jsonl` (one
// JSON object per line, text in a configurable field) and `.jsonl.zst` (the same, zstd-compressed, streamed
// through fzstd so no file is ever fully in memory). A shard can be a byte range of a file and a read can
// resume at a document; bad input is a UserError naming file and line, or a counted skip with `skipBad`.
// A document longer than LONG_DOCUMENT_BYTES is never held whole: it is checked as it streams past (the same
// errors and skips), then its text is read again, in pieces, each time it is asked for.
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decompress } from 'fzstd';
import { UserError } from '../errors.js';
import { fieldOf, JsonFieldScanner, JsonSyntaxError, type FieldFound } from './json-field.js';
import { SkipLog } from './skips.js';
import { dropBytes, formatOf, isRemote, storeFor, type CorpusStore } from './source.js';

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

/** A document too long to hold (more than LONG_DOCUMENT_BYTES): already checked, its text read anew per call. */
export interface LongDocument {
  source: DocumentSource;
  /** Its length in the file, in (decompressed) bytes. */
  bytes: number;
  /** The text in pieces of at most about a megabyte; concatenated, what `text` would be. */
  pieces: () => AsyncGenerator<string>;
}

/**
 * Past this many bytes a document is long: read in pieces (ids identical to reading it whole), in bounded memory.
 * Shorter ones are read whole, which is faster: a long one is read three times (checked, counted, windowed),
 * from a temporary copy where the file cannot be re-read at an offset (.zst, remote), and tokenised twice.
 */
export const LONG_DOCUMENT_BYTES = 1 << 20;

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
  /** Documents longer than this many bytes come as a LongDocument (readDocumentsOrLong); tests lower it. */
  longDocumentBytes?: number;
}

export const DEFAULT_TEXT_FIELD = 'text';

/** Why: the one place that turns corpus files into documents, with errors that say file and line. */
export async function* readDocuments(shard: Shard | string, options: ReadOptions = {}): AsyncGenerator<CorpusDocument> {
  for await (const doc of readDocumentsOrLong(shard, options)) {
    if ('text' in doc) yield doc;
    else {
      const parts: string[] = [];
      for await (const p of doc.pieces()) parts.push(p);
      yield { text: parts.join(''), source: doc.source };
    }
  }
}

/** readDocuments, with each document longer than `longDocumentBytes` as a LongDocument instead of its text. */
export async function* readDocumentsOrLong(shard: Shard | string, options: ReadOptions = {}): AsyncGenerator<CorpusDocument | LongDocument> {
  const { uri, start = 0, end } = typeof shard === 'string' ? { uri: shard } : shard;
  const longAt = options.longDocumentBytes ?? LONG_DOCUMENT_BYTES;
  const format = formatOf(uri);
  if (!format) throw new UserError('E_CORPUS_FORMAT', `${uri}: unsupported corpus file; expected .txt, .jsonl or .jsonl.zst`);
  const store = storeFor(uri, options.store);
  const skips = options.skips ?? new SkipLog();
  const from = options.from;
  const begin = from?.byteOffset ?? start;

  if (format === 'txt') {
    if (begin !== 0 || end === 0) return; // the document starts at byte 0, outside this range
    const source = { file: uri, line: 1, byteOffset: 0 };
    const head = await readUpTo(await store.open(uri), longAt);
    const range = async () => store.open(uri);
    const text = head.bytes ? decodeUtf8(head.bytes) : head.utf8 ? 'checked' : undefined;
    if (text === undefined) {
      const message = 'not valid UTF-8; re-encode the file as UTF-8';
      if (!options.skipBad) throw new UserError('E_CORPUS_BAD_UTF8', `${uri}: ${message}`);
      skips.record({ code: 'E_CORPUS_BAD_UTF8', file: uri, byteOffset: 0, message });
      return;
    }
    if (head.bytes) yield { text: text as string, source };
    else yield { source, bytes: head.length, pieces: () => decodePieces(range, uri) };
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
  // A long line's bytes, read again: from a local .jsonl at its offset; from a copy in a temporary file where
  // re-reading would mean decompressing or downloading the file up to it again (.zst, remote).
  const spill = format !== 'jsonl' || isRemote(uri) ? new Spill() : undefined;
  const lineBytes = (offset: number, length: number, copy?: string) => async () =>
    takeBytes(copy ? createReadStream(copy, { highWaterMark: 1 << 20 }) : await store.open(uri, { start: offset }), length);

  try {
    for await (const item of splitLines(bytes, readFrom, longAt, spill)) {
      const { offset } = item;
      if (dropFirst) {
        dropFirst = false;
        if (from && ('long' in item ? item.length : item.bytes.length) > 0) {
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

      if ('long' in item) {
        const range = lineBytes(offset, item.lastByte === 13 ? item.length - 1 : item.length, item.copy); // without a final \r
        const found = await checkLongLine(range, field);
        if (found === 'blank') continue;
        const problem = found === 'utf8' ? ['E_CORPUS_BAD_UTF8', 'not valid UTF-8; re-encode the file as UTF-8'] : fieldProblem(found, field);
        if (problem) {
          skip(problem[0]!, problem[1]!);
          continue;
        }
        const { occurrence } = found as Extract<FieldFound, { kind: 'value' }>;
        const source = { file: uri, ...(lineNo !== undefined ? { line: lineNo } : {}), byteOffset: offset };
        yield { source, bytes: item.length, pieces: () => fieldPieces(range, field, occurrence, where) };
        continue;
      }
      const raw = item.bytes;
      let text = decodeUtf8(raw);
      if (text === undefined) {
        skip('E_CORPUS_BAD_UTF8', 'not valid UTF-8; re-encode the file as UTF-8');
        continue;
      }
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim() === '') continue; // blank lines separate nothing and are not documents
      let found: FieldFound;
      try {
        found = fieldOf(JSON.parse(text), field);
      } catch (e) {
        found = { kind: 'syntax', message: (e as Error).message };
      }
      const problem = fieldProblem(found, field);
      if (problem) {
        skip(problem[0]!, problem[1]!);
        continue;
      }
      const value = (found as { value: string }).value; // a string: fieldProblem said so
      yield { text: value, source: { file: uri, ...(lineNo !== undefined ? { line: lineNo } : {}), byteOffset: offset } };
    }
  } catch (e) {
    if (!(options.skipBad && e instanceof UserError && e.code === 'E_CORPUS_BAD_ZSTD')) throw e;
    // The rest of the file is unreadable: one skip for it, then the next file.
    // (The thrown message names a compressed offset that depends on chunking; the record must not.)
    const message = 'corrupt or truncated zstd data; the rest of the file was skipped';
    skips.record({ code: e.code, file: uri, byteOffset: decompressed.offset, message });
  } finally {
    await spill?.remove();
  }
}

/** The code and message of a line whose text field cannot be read, or undefined when it can. */
function fieldProblem(found: FieldFound, field: string): [string, string] | undefined {
  switch (found.kind) {
    case 'syntax':
      return ['E_CORPUS_BAD_JSON', `not valid JSON (${found.message}); each line must be one JSON object`];
    case 'not-object':
      return ['E_CORPUS_MISSING_FIELD', `expected a JSON object with a "${field}" field, got ${found.got}`];
    case 'missing': {
      const keys = found.keys.map((k) => JSON.stringify(k)).join(', ');
      return ['E_CORPUS_MISSING_FIELD', `no "${field}" field (keys: ${keys || 'none'}); set the text field option to the key holding the text`];
    }
    case 'value':
      return found.type === 'string' ? undefined : ['E_CORPUS_BAD_FIELD', `field "${field}": expected a string, got ${found.type}`];
  }
}

/** A long line checked as it streams past, as a short one is whole: 'utf8' and 'blank' come before its JSON. */
async function checkLongLine(range: () => Promise<AsyncIterable<Uint8Array>>, field: string): Promise<FieldFound | 'utf8' | 'blank'> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const scanner = new JsonFieldScanner(field);
  let syntax: string | undefined;
  let blank = true;
  const feed = (text: string) => {
    if (blank && /\S/.test(text)) blank = false; // \s is the set String.prototype.trim removes
    if (syntax !== undefined) return;
    try {
      scanner.push(text);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      syntax = e.message;
    }
  };
  for await (const chunk of await range()) {
    const text = decodeUtf8(chunk, decoder);
    if (text === undefined) return 'utf8';
    feed(text);
  }
  const tail = decodeUtf8(new Uint8Array(0), decoder, false);
  if (tail === undefined) return 'utf8';
  feed(tail);
  if (blank) return 'blank';
  if (syntax !== undefined) return { kind: 'syntax', message: syntax };
  try {
    return scanner.end();
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    return { kind: 'syntax', message: e.message };
  }
}

/** The text of a checked long line's field, in pieces. */
async function* fieldPieces(range: () => Promise<AsyncIterable<Uint8Array>>, field: string, occurrence: number, where: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const out: string[] = [];
  const scanner = new JsonFieldScanner(field, { occurrence, onText: (t) => out.push(t) });
  const changed = () => new UserError('E_CORPUS_CHANGED', `${where}: the line changed while it was read; do not modify a corpus during a scan`);
  try {
    for await (const chunk of await range()) {
      const text = decodeUtf8(chunk, decoder);
      if (text === undefined) throw changed();
      scanner.push(text);
      if (out.length) yield out.splice(0).join('');
    }
    scanner.push(decodeUtf8(new Uint8Array(0), decoder, false) ?? '');
    scanner.end();
  } catch (e) {
    throw e instanceof JsonSyntaxError ? changed() : e;
  }
  if (out.length) yield out.join('');
}

/** A long `.txt`'s text in pieces. */
async function* decodePieces(range: () => Promise<AsyncIterable<Uint8Array>>, uri: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of await range()) {
    const text = decodeUtf8(chunk, decoder);
    if (text === undefined) throw new UserError('E_CORPUS_CHANGED', `${uri}: the file changed while it was read; do not modify a corpus during a scan`);
    if (text) yield text;
  }
}

/** Documents of several shards in the given order (resolveShards sorts them). */
export async function* readCorpus(shards: ReadonlyArray<Shard | string>, options: Omit<ReadOptions, 'from'> = {}): AsyncGenerator<CorpusDocument> {
  for (const shard of shards) yield* readDocuments(shard, options);
}

// ---------------------------------------------------------------------------------------------------------
// Byte plumbing.

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes` (one more piece of a stream with `stream`), or undefined if it is not valid UTF-8. */
function decodeUtf8(bytes: Uint8Array, decoder = utf8, stream = decoder !== utf8): string | undefined {
  try {
    return decoder.decode(bytes, { stream });
  } catch {
    return undefined;
  }
}

/** The stream's bytes if it holds at most `limit`, else only its length and whether it is valid UTF-8 (nothing kept). */
async function readUpTo(chunks: AsyncIterable<Uint8Array>, limit: number): Promise<{ bytes?: Uint8Array; length: number; utf8?: boolean }> {
  let parts: Uint8Array[] | undefined = [];
  let length = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let utf8 = true;
  for await (const c of chunks) {
    length += c.length;
    if (parts && length > limit) {
      for (const p of parts) utf8 &&= decodeUtf8(p, decoder) !== undefined;
      parts = undefined;
    }
    if (parts) parts.push(c);
    else utf8 &&= decodeUtf8(c, decoder) !== undefined;
  }
  if (parts) return { bytes: concat(parts), length };
  return { length, utf8: utf8 && decodeUtf8(new Uint8Array(0), decoder, false) !== undefined };
}

/** The first `length` bytes of a stream (closing it there). */
async function* takeBytes(chunks: AsyncIterable<Uint8Array>, length: number): AsyncGenerator<Uint8Array> {
  let left = length;
  for await (const c of chunks) {
    if (left <= 0) break;
    yield c.length <= left ? c : c.subarray(0, left);
    left -= c.length;
    if (left <= 0) break;
  }
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

/** A line (without the newline) and the offset of its first byte; a long one by its length, last byte and copy. */
type Line = { bytes: Uint8Array; offset: number } | { long: true; offset: number; length: number; lastByte: number; copy?: string };

/** A temporary file holding the current long line (one at a time), removed with its directory at the end. */
class Spill {
  private dir?: string;
  private file?: FileHandle;

  async start(parts: Uint8Array[]): Promise<void> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'dreamsweep-line-'));
    this.file = await open(join(this.dir, 'line'), 'w');
    for (const p of parts) await this.file.write(p);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length) await this.file!.write(bytes);
  }

  async finish(): Promise<string> {
    await this.file!.close();
    this.file = undefined;
    return join(this.dir!, 'line');
  }

  async remove(): Promise<void> {
    await this.file?.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Lines of a stream; `base` is the offset of the first chunk. A line longer than `longAt` bytes is not kept in
 * memory: only its length, or with `spill` a copy in a temporary file, valid until the next line is asked for.
 */
async function* splitLines(chunks: AsyncIterable<Uint8Array>, base: number, longAt = Infinity, spill?: Spill): AsyncGenerator<Line> {
  let pending: Uint8Array[] = [];
  let length = 0; // of the pending part of the line
  let long = false;
  let lastByte = -1;
  let lineStart = base;
  const finish = async (piece: Uint8Array): Promise<Line> => {
    const total = length + piece.length;
    if (piece.length) lastByte = piece[piece.length - 1]!;
    let line: Line;
    if (long || total > longAt) {
      if (spill && !long) await spill.start(pending);
      await spill?.write(piece);
      line = { long: true, offset: lineStart, length: total, lastByte, ...(spill ? { copy: await spill.finish() } : {}) };
    } else line = { bytes: pending.length ? concat([...pending, piece]) : piece, offset: lineStart };
    pending = [];
    length = 0;
    long = false;
    lineStart += total + 1;
    return line;
  };
  for await (const chunk of chunks) {
    let i = 0;
    for (let j = chunk.indexOf(10, i); j >= 0; j = chunk.indexOf(10, i)) {
      yield await finish(chunk.subarray(i, j));
      i = j + 1;
    }
    if (i < chunk.length) {
      const rest = chunk.slice(i); // a copy: the source may reuse its buffer
      length += rest.length;
      lastByte = rest[rest.length - 1]!;
      if (long) await spill?.write(rest);
      else pending.push(rest);
      if (!long && length > longAt) {
        long = true;
        await spill?.start(pending);
        pending = [];
      }
    }
  }
  if (length > 0) yield await finish(new Uint8Array(0));
}
