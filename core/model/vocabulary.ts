// Which token ids may be proposed or drawn: the one home of the vocabulary masks. An engine's gradients default
// to the ids its tokenizer knows; EPO (excludeSpecialTokens), random prompts and attribution use the regular
// vocabulary, special tokens excluded.
import type { Engine } from '../engine.js';

/** By default only ids the tokenizer knows are proposed (Pythia pads dVocab past its tokenizer). */
export function defaultAllowed(dVocab: number, tokenizerVocab: number): Uint8Array {
  const a = new Uint8Array(dVocab);
  a.fill(1, 0, Math.min(dVocab, tokenizerVocab));
  return a;
}

/** Token ids a random prompt may use: the tokenizer's regular vocabulary, special tokens excluded. */
export function regularVocabulary(engine: Engine): number[] {
  const size = Math.min(engine.tokenizer.vocabSize, engine.shape.dVocab);
  const out: number[] = [];
  for (let id = 0; id < size; id++) if (!engine.tokenizer.specialIds.has(id)) out.push(id);
  return out;
}

/** The regular vocabulary as a top-k mask (special tokens excluded), in the engine's dVocab. */
export function regularMask(engine: Engine): Uint8Array {
  const allowed = new Uint8Array(engine.shape.dVocab);
  for (const id of regularVocabulary(engine)) allowed[id] = 1;
  return allowed;
}
