// The raw values of one tap at the last token, as `engine.taps` returns them, checked: what the kinds' `lastToken`
// functions read.
import type { TapValues } from '../../engine.js';

/** Tap `name`'s values [B, d] (flat) and d; a missing or short tap is the evaluator's bug. */
export function tapRows(taps: TapValues, name: string, B: number): { values: Float32Array; d: number } {
  const values = taps.values[name];
  const d = taps.dims[name];
  if (!values || d === undefined) throw new Error(`scan: the evaluator returned no "${name}" tap`);
  if (values.length !== B * d) throw new Error(`scan: "${name}" has ${values.length} values, expected ${B} x ${d}`);
  return { values, d };
}
