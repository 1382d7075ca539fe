// The sweep file's schema helpers (zod, with the file's own wording: `want`), shared by core/sweep/sections.ts and
// the objective kinds' target lists (core/objectives/kinds/).
import { z } from 'zod';
import { expandIndices, MAX_INDICES, parseRange, type IndexSet } from '../objectives/indices.js';
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

/**
 * Seeds as neuron indices are written: one, a list `[0, 1]` or a range `0..59`, expanded to the list the spec
 * holds, so a file that writes a range has the spec, sweep ID and unit keys of one that lists the seeds.
 */
export function seedSet(hint: string) {
  return indexSet(hint).transform(expandIndices);
}

const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A finite number >= min (> min when `above`), at most max when given. */
export function num(min: number, hint?: string, above = false, max?: number) {
  if (max !== undefined) {
    const e = want(`a number in [${min}, ${max}]`, hint);
    return z.number(e).min(min, e).max(max, e);
  }
  const e = want(`a number ${above ? '>' : '>='} ${min}`, hint);
  return above ? z.number(e).gt(min, e) : z.number(e).min(min, e);
}

export const bool = (hint?: string) => z.boolean(want('true or false', hint));

/** Why: YAML's `random:` with nothing after it means "on, with defaults". */
export const section = <T extends z.ZodType>(s: T) => z.preprocess((v) => (v === null ? {} : v), s).optional();

/** A local path (relative to the sweep file) or s3://bucket/prefix; other URL schemes are mistakes. */
export function location(expected: string, hint: string) {
  return text(expected, hint).superRefine((v, ctx) => {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(v)?.[1];
    if (scheme === undefined) return;
    if (scheme !== 's3') {
      ctx.addIssue({ code: 'custom', message: want(expected, `only local paths and s3:// URIs are supported, not ${scheme}://`).error });
      return;
    }
    const bucket = v.slice(5).split('/')[0]!;
    if (!S3_BUCKET.test(bucket)) {
      ctx.addIssue({
        code: 'custom',
        message: want(expected, `bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)`).error,
      });
    }
  });
}

/** 100000000, "100_000_000", "100M", "1.5k": a whole count of tokens. */
function parseCount(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const m = /^\s*(\d[\d_]*(?:\.\d+)?)\s*([kmgbt]?)\s*$/i.exec(v);
  if (!m) return v;
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9, b: 1e9, t: 1e12 }[m[2]!.toLowerCase() as 'k'];
  return Math.round(Number(m[1]!.replace(/_/g, '')) * scale * 1e6) / 1e6;
}
export const count = (hint: string) =>
  z.preprocess(
    parseCount,
    z
      .number(want('a whole count such as 100000000, "100M" or "1.5k"', hint))
      .int(want('a whole count such as 100000000, "100M" or "1.5k"', hint))
      .min(1, want('a count >= 1', hint)),
  );
