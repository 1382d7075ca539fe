// A token target's text or `#<id>` as an id: what logit objectives (CLI and sweep file) share.
import type { Tokenizer } from '../../engine.js';

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
