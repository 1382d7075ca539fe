// The best K windows for one (layer, vector) pair under a total order: alignment descending, then corpus
// position (file, byte offset, first token) ascending. A total order makes the kept set a function of the
// windows seen alone, so merged shard results equal a single scan exactly.
import { compareCodeUnits } from './source.js';
import type { WindowSource } from './windows.js';

export interface TopEntry {
  ids: number[];
  /** The window decoded by the tokenizer; filled when a scan finishes or checkpoints. */
  text?: string;
  alignment: number;
  ce: number;
  source: WindowSource;
  /** A feature's activation at every token of the window (FeatureEntryJson); filled when a scan finishes. */
  activations?: number[];
}

/** Why: the single ranking rule; negative when `a` ranks before (is better than) `b`. */
export function compareEntries(a: TopEntry, b: TopEntry): number {
  if (a.alignment !== b.alignment) return a.alignment > b.alignment ? -1 : 1;
  return comparePositions(a.source, b.source);
}

export function comparePositions(a: WindowSource, b: WindowSource): number {
  return compareCodeUnits(a.file, b.file) || a.byteOffset - b.byteOffset || a.token - b.token;
}

/** Why: keeps the K best windows of a stream in O(log K) per entering window; most windows are rejected in O(1). */
export class TopK {
  /** Binary heap with the *worst* kept entry at the root. */
  private readonly heap: TopEntry[] = [];

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 0) throw new Error(`TopK: k must be a non-negative integer, got ${k}`);
  }

  get size(): number {
    return this.heap.length;
  }

  /** Whether an entry with this alignment could enter; false means it certainly would not (cheap pre-check). */
  mightAccept(alignment: number): boolean {
    return this.heap.length < this.k || alignment >= this.heap[0]!.alignment;
  }

  offer(entry: TopEntry): void {
    if (Number.isNaN(entry.alignment)) throw new Error(`TopK: alignment is NaN for window at ${entry.source.file}:${entry.source.byteOffset}`);
    const heap = this.heap;
    if (heap.length < this.k) {
      heap.push(entry);
      this.siftUp(heap.length - 1);
    } else if (this.k > 0 && compareEntries(entry, heap[0]!) < 0) {
      heap[0] = entry;
      this.siftDown(0);
    }
  }

  merge(other: TopK): void {
    for (const e of other.heap) this.offer(e);
  }

  /** Kept entries, best first. */
  sorted(): TopEntry[] {
    return [...this.heap].sort(compareEntries);
  }

  // Heap order: parent ranks *after* (is worse than or equal to) its children.
  private worse(i: number, j: number): boolean {
    return compareEntries(this.heap[i]!, this.heap[j]!) > 0;
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = t;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.worse(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < n && this.worse(l, w)) w = l;
      if (r < n && this.worse(r, w)) w = r;
      if (w === i) return;
      this.swap(i, w);
      i = w;
    }
  }
}
