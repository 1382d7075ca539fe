// A target's activation at every token of a text: f of each prefix. The model is causal, so the value at
// token i of a window is f of its first i + 1 tokens; evaluating the prefixes (grouped by length, one batch
// per length) serves every engine and every objective kind without a per-position objective in the engines.
// For the report's token shading and `dreamsweep export`: a few rows per target, never the scan's hot path.
import type { Engine, Objective } from '../engine.js';

/** Rows per evaluate call. */
const BATCH = 64;

/** Per row of `ids`, its n activations (f of prefixes 1..n); rows may differ in length. */
export async function tokenActivations(engine: Pick<Engine, 'evaluate'>, ids: readonly number[][], objective: Objective): Promise<number[][]> {
  const out = ids.map((row) => new Array<number>(row.length).fill(NaN));
  const byLength = new Map<number, Array<{ row: number; prefix: number[] }>>();
  ids.forEach((row, r) => {
    for (let m = 1; m <= row.length; m++) {
      const list = byLength.get(m) ?? [];
      list.push({ row: r, prefix: row.slice(0, m) });
      byLength.set(m, list);
    }
  });
  for (const m of [...byLength.keys()].sort((a, b) => a - b)) {
    const list = byLength.get(m)!;
    for (let at = 0; at < list.length; at += BATCH) {
      const part = list.slice(at, at + BATCH);
      const { f } = await engine.evaluate(
        part.map((p) => p.prefix),
        objective,
      );
      part.forEach((p, i) => (out[p.row]![m - 1] = f[i]!));
    }
  }
  return out;
}
