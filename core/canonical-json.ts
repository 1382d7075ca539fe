// JSON with sorted object keys: equal values give equal text whatever order their fields were written in,
// so hashes of it name content (unit keys, plans, vector sets) and reports are byte-identical.

/** Sorted keys (by UTF-16 code units), `space` as JSON.stringify's; non-finite numbers become null as there. */
export function canonicalJson(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
    space,
  );
}
