// Index sets as users write them for SAE rows and neuron targets: one index, a list `[1, 5, 9]`, or an
// inclusive range `"0..63"` (both ends included: 64 indices). The one parser and expander of that syntax.

export type IndexSet = number | number[] | { from: number; to: number };

/** Most indices one set may expand to: a plan holds at most 100,000 units anyway (core/sweep/limits.ts). */
export const MAX_INDICES = 1_000_000;

const RANGE = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/;

/** `"3..7"` -> { from: 3, to: 7 }; anything else is returned unchanged (for the schema to judge). */
export function parseRange(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const m = RANGE.exec(v);
  return m ? { from: Number(m[1]), to: Number(m[2]) } : v;
}

/** The indices of a set, in the order given (a range ascending). */
export function expandIndices(s: IndexSet): number[] {
  if (typeof s === 'number') return [s];
  if (Array.isArray(s)) return s;
  return Array.from({ length: s.to - s.from + 1 }, (_, i) => s.from + i);
}

/** The i-th index of the set (what vector i of a row selection is in its matrix). */
export function indexAt(s: IndexSet, i: number): number {
  return typeof s === 'number' ? s : Array.isArray(s) ? s[i]! : s.from + i;
}

export function indexCount(s: IndexSet): number {
  return typeof s === 'number' ? 1 : Array.isArray(s) ? s.length : s.to - s.from + 1;
}

/** How the user wrote it: `12`, `0..63`, `[1, 5, 9]`. */
export function formatIndices(s: IndexSet): string {
  if (typeof s === 'number') return String(s);
  return Array.isArray(s) ? `[${s.join(', ')}]` : `${s.from}..${s.to}`;
}
