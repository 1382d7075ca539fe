// Checks on what a caller hands an engine (core/engine.ts), shared by the engines so every one rejects the same
// mistakes with the same words.
import type { PrefixHint } from '../engine.js';
import { UserError } from '../errors.js';
import { checkSeqLen, type ModelConfig } from './config.js';
import { defaultAllowed } from './vocabulary.js';

/** Ids must form a rectangle of the model's token ids; learned positions end at their table's last row. */
export function checkModelIds(ids: number[][], cfg: ModelConfig): void {
  checkIds(ids, cfg.dVocab);
  if (cfg.positional === 'learned') checkSeqLen(cfg, ids[0]!.length, 'ids', {}); // rows as computed: a BOS withBos put is in them
}

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
export function checkGradientInputs(B: number, lambdas: number[], k: number, dVocab: number, tokenizerVocab: number, allowed?: Uint8Array): Uint8Array {
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

/** A hint that does not describe the batch is the caller's bug: refuse it rather than compute wrong values. */
export function checkPrefixHint(ids: number[][], hint: PrefixHint): PrefixHint {
  const n = ids[0]!.length;
  const bad = (msg: string) => new UserError('E_ENGINE_INPUT', `evaluate: prefix hint: ${msg}`);
  if (hint.parentOf.length !== ids.length || hint.from.length !== ids.length) {
    throw bad(`expected parentOf and from for each of ${ids.length} prompts, got ${hint.parentOf.length} and ${hint.from.length}`);
  }
  hint.parents.forEach((p, i) => {
    if (p.length !== n) throw bad(`parents[${i}]: expected ${n} tokens, got ${p.length}`);
  });
  ids.forEach((row, b) => {
    const parent = hint.parentOf[b]!;
    if (parent < 0) return;
    const from = hint.from[b]!;
    if (!Number.isInteger(parent) || parent >= hint.parents.length) throw bad(`parentOf[${b}]: no parent ${parent}`);
    if (!Number.isInteger(from) || from < 0 || from >= n) throw bad(`from[${b}]: expected 0..${n - 1}, got ${from}`);
    const p = hint.parents[parent]!;
    for (let i = 0; i < from; i++) if (row[i] !== p[i]) throw bad(`prompt ${b} differs from parent ${parent} at ${i} < from ${from}`);
  });
  return hint;
}
