// The sweep file's schema helpers (zod, with the file's own wording: `want`), shared by core/sweep/spec.ts and
// the objective kinds' target lists (core/objectives/kinds/).
import { z } from 'zod';
import { MAX_INDICES, parseRange, type IndexSet } from '../objectives/indices.js';
import { want } from './issues.js';

export { want, type Problem } from './issues.js';

export function int(min: number, hint?: string, max?: number) {
  const e = want(max === undefined ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`, hint);
  const s = z.number(e).int(e).min(min, e);
  return max === undefined ? s : s.max(max, e);
}

export const text = (expected: string, hint?: string) => z.string(want(expected, hint)).min(1, want(expected, hint));

/** Strict: an unknown key is an error (with a "did you mean"). */
export function obj<T extends z.core.$ZodLooseShape>(shape: T, expected: string, hint?: string) {
  return z.strictObject(shape, want(expected, hint));
}

/** Why: duplicates would make two units with one ID; report the repeat, not the first. */
export function distinct(what: string) {
  return (list: unknown[], ctx: z.RefinementCtx) => {
    const seen = new Map<string, number>();
    list.forEach((v, i) => {
      const k = JSON.stringify(v);
      const first = seen.get(k);
      if (first === undefined) seen.set(k, i);
      else ctx.addIssue({ code: 'custom', path: [i], message: want(`each ${what} once`, `remove this repeat of item [${first}]`).error });
    });
  };
}

/**
 * One index, a list `[1, 5, 9]` or an inclusive range `"0..63"` (YAML reads `0..63` as that string):
 * neuron indices and matrix rows.
 */
export function indexSet(hint: string) {
  const expected = 'an index, a list such as [1, 5, 9], or a range such as 0..63 (both ends included)';
  const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  return z.unknown().transform((v, ctx): IndexSet => {
    const bad = (h: string) => {
      ctx.addIssue({ code: 'custom', message: want(expected, h).error });
      return z.NEVER;
    };
    const r = parseRange(v);
    if (isIndex(r)) return r;
    if (Array.isArray(r)) {
      if (r.length === 0) return bad('the list is empty; give at least one index');
      const wrong = r.findIndex((x) => !isIndex(x));
      if (wrong >= 0) return bad(`item [${wrong}] (${JSON.stringify(r[wrong])}) is not a whole number >= 0`);
      const dup = r.findIndex((x, i) => r.indexOf(x) !== i);
      if (dup >= 0) return bad(`${r[dup]} appears twice (items [${r.indexOf(r[dup])}] and [${dup}]); remove the repeat`);
      return r as number[];
    }
    if (typeof r === 'object' && r !== null && 'from' in r) {
      const { from, to } = r as { from: number; to: number };
      if (from > to) return bad(`the range runs backwards; write ${to}..${from}`);
      if (to - from + 1 > MAX_INDICES) return bad(`the range holds ${to - from + 1} indices, over the ${MAX_INDICES} one set may hold`);
      return { from, to };
    }
    return bad(hint);
  });
}
