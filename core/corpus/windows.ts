// Token windows of a corpus: each document is tokenised on its own (no special tokens), and a window is n
// consecutive tokens of one document starting at token 0, s, 2s, ... while it fits (stride s, default n).
// Every window carries the position just after it, so a scan can checkpoint and resume between any two.
// A long document (read.ts) is tokenised in pieces cut where the tokenizer allows (core/model/tokenizer-cuts.ts),
// whose ids concatenated are exactly the whole document's: first to count its tokens, then for its windows.
import type { Tokenizer } from '../engine.js';
import { isUserError, UserError } from '../errors.js';
import type { CutFinder } from '../model/tokenizer-cuts.js';
import { readDocumentsOrLong, type ReadOptions, type Shard } from './read.js';
import { SkipLog } from './skips.js';

/** What corpusWindows needs of a tokenizer: encode, and where a long text may be cut (HfJsonTokenizer has it). */
type WindowTokenizer = Pick<Tokenizer, 'encode'> & { readonly cuts?: CutFinder | { none: string } };

/** A long document is tokenised this many characters at a time (or a little more, up to the next cut). */
export const PIECE_CHARS = 1 << 18;
/** The most characters tokenised at once when no cut comes (or the tokenizer has none): past it, refused. */
export const MAX_UNCUT_CHARS = 8 << 20;

/** Where a scan is: the shard, the document in it (by byte offset, and line when known), the next window. */
export interface ScanPosition {
  /** Index into the scan's shard list. */
  shard: number;
  byteOffset: number;
  line?: number;
  /** Index (in the document) of the next window to take. */
  window: number;
}

/**
 * A window's place in the corpus: its document's file and byte offset (decompressed), and the index of its
 * first token in that document. No line number: a scan of a byte range does not know it, and results must
 * not depend on how a corpus was split.
 */
export interface WindowSource {
  file: string;
  byteOffset: number;
  token: number;
}

export interface TokenWindow {
  ids: number[];
  source: WindowSource;
  /** The position right after this window: resuming there continues with the next window. */
  next: ScanPosition;
}

export interface WindowOptions extends Omit<ReadOptions, 'from'> {
  /** Tokens per window. */
  n: number;
  /** Distance between window starts in a document; default n (no overlap). */
  stride?: number;
  /** Resume here (a `next` of an earlier window). */
  from?: ScanPosition;
  /**
   * Called once per document read, with its token count; not for the document a resume starts inside
   * (it was counted before the checkpoint).
   */
  onDocument?: (tokens: number) => void;
}

/** Why: the number of windows a document of `tokens` tokens yields (for budgets and tests). */
export function windowCount(tokens: number, n: number, stride = n): number {
  return tokens < n ? 0 : Math.floor((tokens - n) / stride) + 1;
}

/** Why: checks n and stride once, with messages that say what to fix. */
export function checkWindowOptions(n: number, stride: number): void {
  if (!Number.isInteger(n) || n < 2) {
    throw new UserError('E_SCAN_OPTIONS', `window length n: expected an integer >= 2 (CE needs two tokens), got ${n}`);
  }
  if (!Number.isInteger(stride) || stride < 1) {
    throw new UserError('E_SCAN_OPTIONS', `stride: expected an integer >= 1, got ${stride}`);
  }
}

/** Why: the scan's single source of windows, in corpus order (shards as given, documents, windows). */
export async function* corpusWindows(shards: readonly Shard[], tokenizer: WindowTokenizer, options: WindowOptions): AsyncGenerator<TokenWindow> {
  const { n, stride = n, from, onDocument, ...rest } = options;
  const readOptions = { ...rest, skips: rest.skips ?? new SkipLog() };
  checkWindowOptions(n, stride);
  if (from && (from.shard < 0 || from.shard > shards.length)) {
    throw new UserError('E_SCAN_RESUME_MISMATCH', `resume position: shard ${from.shard} is not among the ${shards.length} shards`);
  }
  for (let s = from?.shard ?? 0; s < shards.length; s++) {
    const resuming = from !== undefined && s === from.shard;
    const docs = readDocumentsOrLong(shards[s]!, {
      ...readOptions,
      ...(resuming ? { from: { byteOffset: from.byteOffset, ...(from.line !== undefined ? { line: from.line } : {}) } } : {}),
    });
    let first = resuming;
    for await (const doc of docs) {
      let w = 0;
      if (first) {
        first = false;
        if (doc.source.byteOffset !== from!.byteOffset) {
          throw new UserError(
            'E_SCAN_RESUME_MISMATCH',
            `${doc.source.file}: the checkpoint's document at byte ${from!.byteOffset} is gone; the corpus changed since the checkpoint`,
          );
        }
        w = from!.window;
      }
      const { file, line, byteOffset } = doc.source;
      const next = (window: number): ScanPosition => ({ shard: s, byteOffset, ...(line !== undefined ? { line } : {}), window });
      if ('text' in doc) {
        const ids = tokenizer.encode(doc.text);
        if (w === 0) onDocument?.(ids.length);
        for (; w * stride + n <= ids.length; w++) {
          const start = w * stride;
          yield { ids: ids.slice(start, start + n), source: { file, byteOffset, token: start }, next: next(w + 1) };
        }
        continue;
      }
      const where = line !== undefined ? `${file}:${line}` : `${file} (byte ${byteOffset})`;
      if (w === 0) {
        let tokens = 0;
        try {
          for await (const run of encodeInPieces(tokenizer, doc.pieces(), where)) tokens += run.length;
        } catch (e) {
          if (!(readOptions.skipBad && isUserError(e) && e.code === 'E_CORPUS_DOCUMENT_TOO_LONG')) throw e;
          readOptions.skips.record({ code: e.code, file, byteOffset, message: e.message.slice(where.length + 2) });
          continue;
        }
        onDocument?.(tokens);
      }
      for await (const { ids, start } of windowsOf(encodeInPieces(tokenizer, doc.pieces(), where), n, stride, w)) {
        yield { ids, source: { file, byteOffset, token: start }, next: next(start / stride + 1) };
      }
    }
  }
}

/**
 * Why: the ids of a text given in pieces, in runs whose concatenation is exactly `encode(text)`: the text is
 * cut only where the tokenizer's cut rule allows, about every `pieceChars` characters. A stretch of more than
 * MAX_UNCUT_CHARS with no cut (or any such text, for a tokenizer with no rule) is refused.
 */
export async function* encodeInPieces(tokenizer: WindowTokenizer, pieces: AsyncIterable<string>, where: string, pieceChars = PIECE_CHARS): AsyncGenerator<number[]> {
  const cuts = tokenizer.cuts && !('none' in tokenizer.cuts) ? tokenizer.cuts : undefined;
  let pending = '';
  let searched = 0; // no cut at or before this index of pending
  for await (const piece of pieces) {
    pending += piece;
    while (pending.length >= pieceChars) {
      // The last cut within pieceChars; failing that, the last one there is (a long stretch without one).
      let cut = cuts && searched < pieceChars ? cuts(pending, searched, pieceChars) : -1;
      if (cut <= 0 && cuts) cut = cuts(pending, Math.max(searched, pieceChars), pending.length - 1);
      if (cut > 0) {
        yield tokenizer.encode(pending.slice(0, cut));
        pending = pending.slice(cut);
        searched = 0;
        continue;
      }
      searched = pending.length - 1;
      if (pending.length > MAX_UNCUT_CHARS) {
        const why = cuts
          ? 'has no place where its tokenizer can cut it'
          : `cannot be cut for this tokenizer (${(tokenizer.cuts as { none: string } | undefined)?.none ?? 'no cut rule'})`;
        throw new UserError(
          'E_CORPUS_DOCUMENT_TOO_LONG',
          `${where}: a stretch of more than ${MAX_UNCUT_CHARS} characters ${why}, and is not tokenised whole (memory); split the document, or skip it with the skip-bad option`,
        );
      }
      break;
    }
  }
  if (pending) yield tokenizer.encode(pending);
}

/** The windows (n tokens every `stride`, from window `first` on) of ids that come in runs, holding only what is needed. */
async function* windowsOf(runs: AsyncIterable<number[]>, n: number, stride: number, first: number): AsyncGenerator<{ ids: number[]; start: number }> {
  let buffer: number[] = [];
  let base = 0; // token index of buffer[0]
  let w = first;
  for await (const run of runs) {
    buffer = buffer.length ? buffer.concat(run) : run;
    for (; w * stride + n <= base + buffer.length; w++) {
      const at = w * stride - base;
      yield { ids: buffer.slice(at, at + n), start: w * stride };
    }
    const drop = Math.min(buffer.length, w * stride - base);
    if (drop > 0) {
      buffer = buffer.slice(drop);
      base += drop;
    }
  }
}
