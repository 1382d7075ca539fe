// A sweep's EPO target (a residual direction of the vector set, a neuron, a token, an SAE latent) turned into
// the Objective an engine computes. The one conversion: the EPO activity, the report's attribution and the
// CLI's objective specs (spec.ts) all resolve through each kind's record (kinds/), so `#<id>` tokens mean the
// same everywhere.
import type { ModelShape, Objective, Tokenizer } from '../engine.js';
import { resolveTargetOf, type EpoTarget } from './kinds/index.js';
import type { VectorSet } from './vectors.js';

export type { EpoTarget } from './kinds/index.js';
export { resolveToken } from './kinds/token.js';

/**
 * The objective of `target`; residual targets need the sweep's vector set, `#<id>` tokens are checked
 * against `dVocab` (the model's, which may exceed the tokenizer's), SAE targets against `shape` where given.
 * `where` names the target in errors.
 */
export function resolveTarget(target: EpoTarget, tokenizer: Tokenizer, vectors: VectorSet | undefined, where: string, dVocab = tokenizer.vocabSize, shape?: ModelShape): Objective {
  return resolveTargetOf(target, { tokenizer, vectors, where, dVocab, ...(shape && { shape }) });
}
