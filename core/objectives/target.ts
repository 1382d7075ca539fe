// A sweep's EPO target (a residual direction of the vector set, a neuron, a token) turned into the
// Objective an engine computes. The one conversion: the EPO activity, the report's attribution and the
// CLI's objective specs (spec.ts) all resolve through here, so `#<id>` tokens mean the same everywhere.
import type { Objective, Tokenizer } from '../engine.js';
import { UserError } from '../errors.js';
import type { VectorSet } from './vectors.js';

export type EpoTarget = { kind: 'resid'; layer: number; vector: number } | { kind: 'neuron'; layer: number; index: number } | { kind: 'logit'; token: string; bannedText?: string };

/**
 * Why: a token target is its text (exactly one token with this tokenizer) or `#<id>`; `fail` turns the
 * reason into the caller's error (what the caller names: a sweep file field, a CLI spec).
 */
export function resolveToken(text: string, tokenizer: Tokenizer, dVocab: number, fail: (why: string) => Error): number {
  if (text.startsWith('#')) {
    const id = Number(text.slice(1));
    if (text.length < 2 || !Number.isInteger(id)) throw fail(`token id must be an integer, got ${JSON.stringify(text.slice(1))}`);
    if (id < 0 || id >= dVocab) throw fail(`token id ${id} is out of range [0, ${dVocab - 1}]`);
    return id;
  }
  const ids = tokenizer.encode(text);
  if (ids.length !== 1) {
    throw fail(`${JSON.stringify(text)} is ${ids.length} tokens (${ids.join(', ')}); a token target must be exactly one token (use #<id>, or mind the leading space)`);
  }
  return ids[0]!;
}

/**
 * The objective of `target`; residual targets need the sweep's vector set, `#<id>` tokens are checked
 * against `dVocab` (the model's, which may exceed the tokenizer's). `where` names the target in errors.
 */
export function resolveTarget(target: EpoTarget, tokenizer: Tokenizer, vectors: VectorSet | undefined, where: string, dVocab = tokenizer.vocabSize): Objective {
  switch (target.kind) {
    case 'resid': {
      const v = vectors?.get(target.layer)?.[target.vector];
      if (!v) throw new UserError('E_SWEEP_TARGET', `${where}: the vector set has no vector ${target.vector} for layer ${target.layer}; launch the sweep again to re-plan`);
      return { kind: 'resid', layer: target.layer, vector: v };
    }
    case 'neuron':
      return { kind: 'neuron', layer: target.layer, index: target.index };
    case 'logit':
      return { kind: 'logit', token: resolveToken(target.token, tokenizer, dVocab, (why) => new UserError('E_SWEEP_TARGET', `${where}: targets.tokens ${why}`)) };
  }
}
