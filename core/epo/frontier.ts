// The Pareto frontier of objective f against cross-entropy, over one or several EPO histories: for each
// lambda on a dense grid, the candidate maximising f - lambda * CE; the unique winners are the frontier.
import type { History } from './history.js';

export interface FrontierPoint {
  /** Smallest grid lambda at which this prompt is the argmax of f - lambda * CE. */
  lambda: number;
  f: number;
  ce: number;
  perplexity: number;
  ids: number[];
  text: string;
}

/** lambda = 0 (the best f at any fluency), then 1,000 log-spaced values from 1e-2 to 1e2. */
export function defaultLambdaGrid(): number[] {
  const grid = [0];
  for (let i = 0; i < 1000; i++) grid.push(10 ** (-2 + (4 * i) / 999));
  return grid;
}

/**
 * Frontier points ordered by lambda ascending (so f descending, CE descending). Only valid candidates
 * (not banned, retokenisation intact) count; ties go to the earliest candidate, so the result is stable.
 */
export function paretoFrontier(histories: History[], decode: (ids: number[]) => string, grid: number[] = defaultLambdaGrid()): FrontierPoint[] {
  const cols = histories.map((h) => ({ ...h.flat(), n: h.seqLen }));
  const points: FrontierPoint[] = [];
  const seen = new Set<string>();
  for (const lambda of grid) {
    let best = -Infinity;
    let where: [number, number] | undefined;
    cols.forEach((c, h) => {
      for (let r = 0; r < c.rows; r++) {
        if (!c.valid[r]) continue;
        const score = c.f[r]! - lambda * c.ce[r]!;
        if (score > best) {
          best = score;
          where = [h, r];
        }
      }
    });
    if (!where) continue;
    const [h, r] = where;
    const c = cols[h]!;
    const ids = Array.from(c.ids.subarray(r * c.n, (r + 1) * c.n));
    // A prompt can recur (parents reappear each iteration): one point per distinct prompt.
    const key = ids.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const ce = c.ce[r]!;
    points.push({ lambda, f: c.f[r]!, ce, perplexity: Math.exp(ce), ids, text: decode(ids) });
  }
  return points;
}
