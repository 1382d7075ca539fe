// Token windows of a corpus: each document is tokenised on its own (no special tokens), and a window is n
// consecutive tokens of one document starting at token 0, s, 2s, ... while it fits (stride s, default n).
// Every window carries the position just after it, so a scan can checkpoint and resume between any two.
import type { Tokenizer } from '../engine.js';
import { UserError } from '../errors.js';
import { readDocuments, type ReadOptions, type Shard } from './read.js';

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
export async function* corpusWindows(shards: readonly Shard[], tokenizer: Pick<Tokenizer, 'encode'>, options: WindowOptions): AsyncGenerator<TokenWindow> {
  const { n, stride = n, from, onDocument, ...readOptions } = options;
  checkWindowOptions(n, stride);
  if (from && (from.shard < 0 || from.shard > shards.length)) {
    throw new UserError('E_SCAN_RESUME_MISMATCH', `resume position: shard ${from.shard} is not among the ${shards.length} shards`);
  }
  for (let s = from?.shard ?? 0; s < shards.length; s++) {
    const resuming = from !== undefined && s === from.shard;
    const docs = readDocuments(shards[s]!, {
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
      const ids = tokenizer.encode(doc.text);
      if (w === 0) onDocument?.(ids.length);
      for (; w * stride + n <= ids.length; w++) {
        const start = w * stride;
        const { file, line, byteOffset } = doc.source;
        yield {
          ids: ids.slice(start, start + n),
          source: { file, byteOffset, token: start },
          next: { shard: s, byteOffset, ...(line !== undefined ? { line } : {}), window: w + 1 },
        };
      }
    }
  }
}
