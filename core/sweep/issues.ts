// From problems found in a parsed YAML sweep file to `FILE:LINE:COL field.path: expected X, got Y (type); fix`
// lines: where a field path sits in the document, what the value there is, and which known key a typo meant.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { z } from 'zod';

/** Keys and list indices from the top of the document down. */
export type FieldPath = ReadonlyArray<PropertyKey>;

/** One problem at one place: `expected` and `hint` as the schema wrote them; `text` replaces both when set. */
export interface Problem {
  path: FieldPath;
  expected?: string;
  hint?: string;
  text?: string;
  /** Point at the key (unknown keys) rather than at the value. */
  at?: 'key' | 'value';
}

/** A located problem, as tests and the CLI read it. */
export interface SweepIssue {
  file: string;
  line: number;
  col: number;
  /** `methods.epo.seeds`, `study.layers[1]`; empty for YAML syntax errors. */
  path: string;
  message: string;
}

/** Why: zod carries one message string per issue; this packs the expectation and the fix into it. */
export const SEP = '\u001f';
export const want = (expected: string, hint?: string) => ({ error: hint ? `${expected}${SEP}${hint}` : expected });

/** `methods.epo.seeds`, `study.layers[1]`: how users read a field's place. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `${out ? '.' : ''}${String(seg)}`;
  return out;
}

/** `"abc" (string)`, `-1 (number)`, `a list of 2 (list)`, `nothing` for a missing key. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value (null)';
  if (typeof v === 'string') return `${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)} (string)`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${String(v)} (${typeof v})`;
  if (Array.isArray(v)) return `a list of ${v.length} (list)`;
  if (v instanceof Date) return `a date (timestamp); quote it to make it a string`;
  return 'a mapping (mapping)';
}

/** The plain value at a field path (undefined when absent), for the `got` part of a message. */
export function valueAt(root: unknown, path: FieldPath): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** 1-based line and column of a field: its value, or its key; a missing field points at its nearest present parent's key. */
export function locate(doc: Document, lc: LineCounter, path: FieldPath, at: 'key' | 'value' = 'value'): { line: number; col: number } {
  const pos = (node: Node | null | undefined) => (node?.range ? lc.linePos(node.range[0]) : undefined);
  let cur: unknown = doc.contents;
  let key: Node | undefined;
  let found = 0;
  for (const seg of path) {
    if (isAlias(cur)) cur = cur.resolve(doc);
    if (isMap(cur)) {
      const pair = cur.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      key = isScalar(pair.key) ? pair.key : undefined;
      cur = pair.value;
    } else if (isSeq(cur) && typeof seg === 'number' && seg < cur.items.length) {
      key = undefined;
      cur = cur.items[seg];
    } else {
      break;
    }
    found++;
  }
  const complete = found === path.length;
  const value = cur as Node | null;
  const emptyValue = isScalar(value) && value.value === null && value.source === '';
  const p = (complete && at === 'value' && !emptyValue ? pos(value) : undefined) ?? pos(key) ?? pos(value) ?? pos(doc.contents as Node | null);
  return p ?? { line: 1, col: 1 };
}

// --- unknown keys: what the schema knows at a path, and the closest of it ----------------------------------

function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable) {
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.out as z.ZodType; // z.preprocess: the schema after the preprocessing step
    } else {
      return s;
    }
  }
}

/** The keys an object schema at `path` accepts ([] when there is none). */
export function knownKeys(schema: z.ZodType, path: FieldPath): string[] {
  let s: z.ZodType | undefined = schema;
  for (const seg of path) {
    const u: z.ZodType = unwrap(s);
    if (u instanceof z.ZodObject) s = (u.shape as Record<string, z.ZodType>)[String(seg)];
    else if (u instanceof z.ZodArray) s = u.element as z.ZodType;
    else s = undefined;
    if (!s) return [];
  }
  const u = unwrap(s);
  return u instanceof z.ZodObject ? Object.keys(u.shape) : [];
}

/** Every object key in the schema with the path of its object, for "this key belongs elsewhere". */
function allKeys(schema: z.ZodType, prefix: PropertyKey[] = [], out: Array<{ key: string; parent: PropertyKey[] }> = []) {
  const u = unwrap(schema);
  if (u instanceof z.ZodObject) {
    for (const [k, child] of Object.entries(u.shape as Record<string, z.ZodType>)) {
      out.push({ key: k, parent: prefix });
      allKeys(child, [...prefix, k], out);
    }
  } else if (u instanceof z.ZodArray) {
    allKeys(u.element as z.ZodType, [...prefix, 0], out);
  }
  return out;
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key a typo most likely meant: same letters ignoring case and `_`/`-`, a prefix, or a close spelling. */
export function closest(word: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const w = norm(word);
  const same = known.find((k) => norm(k) === w);
  if (same) return same;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(w, norm(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  if (best !== undefined && bestD <= Math.max(1, Math.min(3, Math.floor(w.length / 3)))) return best;
  if (w.length >= 3) return known.find((k) => norm(k).startsWith(w));
  return undefined;
}

/** The problem for one unknown key, with the known key it was probably meant as. */
export function unknownKeyProblem(schema: z.ZodType, parent: FieldPath, key: string): Problem {
  const known = knownKeys(schema, parent);
  const where = parent.length ? formatPath(parent) : 'the top level';
  const text = (fix: string) => `expected a key of ${where}, got ${JSON.stringify(key)} (unknown key); ${fix}`;
  const near = closest(key, known);
  if (near) return { path: [...parent, key], at: 'key', text: text(`did you mean ${JSON.stringify(near)}?`) };
  const elsewhere = allKeys(schema).find((k) => k.key === key || closest(key, [k.key]) === k.key);
  if (elsewhere) {
    const home = formatPath([...elsewhere.parent, elsewhere.key]).replace(/\[0\]/g, '[]');
    return { path: [...parent, key], at: 'key', text: text(`did you mean ${home}? (it belongs under ${formatPath(elsewhere.parent) || 'the top level'})`) };
  }
  return { path: [...parent, key], at: 'key', text: text(`remove it; the keys here are ${known.join(', ')}`) };
}

/** Zod's issues as problems: one per unknown key, the rest carrying the schema's expectation and hint. */
export function zodProblems(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push(unknownKeyProblem(schema, issue.path, key));
    } else {
      const [expected, hint] = issue.message.split(SEP);
      out.push({ path: issue.path, expected, hint });
    }
  }
  return out;
}

/** `expected X, got Y (type); hint`, with Y read from the document's own value at the path. */
export function problemMessage(p: Problem, root: unknown): string {
  if (p.text !== undefined) return p.text;
  const got = describeValue(valueAt(root, p.path));
  return `expected ${p.expected ?? 'a valid value'}, got ${got}${p.hint ? `; ${p.hint}` : ''}`;
}
