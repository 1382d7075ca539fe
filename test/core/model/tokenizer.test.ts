// The tokenizer wrapper agrees with Python `tokenizers` on the fixture tokenizer.json and round-trips text.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { HfJsonTokenizer } from '../../../core/model/tokenizer.js';
import { MODELS, readGolden } from './helpers.js';

describe('the tokenizer.json wrapper', () => {
  const tok = HfJsonTokenizer.fromFile(join(MODELS, 'tiny-parallel', 'tokenizer.json'));

  it('gives the same ids as Python tokenizers for every golden text', () => {
    for (const { text, ids } of readGolden('tiny-parallel').texts) expect(tok.encode(text), text).toEqual(ids);
  });

  it('round-trips text through encode and decode', () => {
    for (const text of ['The quick brown fox.', '  two  spaces\tand a tab\n', 'naïve café ✓ 2024', '<|endoftext|>x']) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
  });

  it('decodes an empty id list to the empty string', () => {
    expect(tok.decode([])).toBe('');
  });

  it('reports the vocabulary size and the special ids', () => {
    expect(tok.vocabSize).toBe(300);
    expect([...tok.specialIds].sort()).toEqual([0, 1]);
    expect(tok.encode('<|endoftext|>')).toEqual([0]);
  });
});
