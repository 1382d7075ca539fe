// Checks on what a caller hands an engine (core/engine.ts), shared by the engines so every one rejects the same
// mistakes with the same words.
import type { PrefixHint } from '../engine.js';
import { UserError } from '../errors.js';

/** Ids must form a rectangle of valid token ids. */
export function checkIds(ids: number[][], dVocab: number): void {
  if (ids.length === 0) throw new UserError('E_ENGINE_INPUT', 'ids: expected at least one prompt, got none');
  const n = ids[0]!.length;
  if (n === 0) throw new UserError('E_ENGINE_INPUT', 'ids: prompts must have at least one token');
  ids.forEach((row, i) => {
    if (row.length !== n) {
      throw new UserError('E_ENGINE_INPUT', `ids[${i}]: expected ${n} tokens like ids[0], got ${row.length}`);
    }
    for (const t of row) {
      if (!Number.isInteger(t) || t < 0 || t >= dVocab) {
        throw new UserError('E_TOKEN_ID', `ids[${i}]: token ${t} is outside the model's vocabulary 0..${dVocab - 1}`);
      }
    }
  });
}

/** lambdas (one per prompt), k in 1..dVocab and the allowed mask (default: ids below the tokenizer's size). */
export function checkGradientInputs(
  B: number,
  lambdas: number[],
  k: number,
  dVocab: number,
  tokenizerVocab: number,
  allowed?: Uint8Array,
): Uint8Array {
  if (lambdas.length !== B) {
    throw new UserError('E_ENGINE_INPUT', `gradients: expected ${B} lambdas (one per prompt), got ${lambdas.length}`);
  }
  if (!Number.isInteger(k) || k < 1 || k > dVocab) {
    throw new UserError('E_ENGINE_INPUT', `gradients: k: expected an integer in 1..${dVocab}, got ${k}`);
  }
  const mask = allowed ?? defaultAllowed(dVocab, tokenizerVocab);
  if (mask.length !== dVocab) {
    throw new UserError('E_ENGINE_INPUT', `gradients: allowed: expected length ${dVocab} (d_vocab), got ${mask.length}`);
  }
  return mask;
}

/** By default only ids the tokenizer knows are proposed (Pythia pads dVocab past its tokenizer). */
export function defaultAllowed(dVocab: number, tokenizerVocab: number): Uint8Array {
  const a = new Uint8Array(dVocab);
  a.fill(1, 0, Math.min(dVocab, tokenizerVocab));
  return a;
}

/** A prefix hint must name parents as long as the prompts, and one parent (or -1) and start per prompt. */
export function checkPrefixHint(hint: PrefixHint, ids: number[][], dVocab: number): void {
  const bad = (msg: string) => new UserError('E_ENGINE_INPUT', `evaluate: prefix hint: ${msg}`);
  const n = ids[0]!.length;
  if (hint.parentOf.length !== ids.length || hint.from.length !== ids.length) {
    throw bad(`expected parentOf and from of length ${ids.length} (one per prompt), got ${hint.parentOf.length} and ${hint.from.length}`);
  }
  if (hint.parents.length > 0) checkIds(hint.parents, dVocab);
  hint.parents.forEach((p, j) => {
    if (p.length !== n) throw bad(`parents[${j}]: expected ${n} tokens like the prompts, got ${p.length}`);
  });
  hint.parentOf.forEach((j, b) => {
    if (!Number.isInteger(j) || j < -1 || j >= hint.parents.length) {
      throw bad(`parentOf[${b}]: expected -1 or an index in 0..${hint.parents.length - 1}, got ${j}`);
    }
    const p = hint.from[b]!;
    if (j >= 0 && (!Number.isInteger(p) || p < 0 || p >= n)) throw bad(`from[${b}]: expected a position in 0..${n - 1}, got ${p}`);
  });
}
