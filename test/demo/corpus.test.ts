// The demo corpus and tokenizer: the committed shards are exactly what the seeded generator writes, and the
// committed tokenizer.json loads in @huggingface/tokenizers and round-trips every held-out document.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readDocuments } from '../../core/corpus/read.js';
import { HfJsonTokenizer } from '../../core/model/tokenizer.js';
import { CORPUS_SHARDS, shardText } from '../../demo/generate.js';
import { generateDocuments, grammarVocabulary } from '../../demo/grammar.js';

const DEMO = join(import.meta.dirname, '../../demo');

async function texts(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const doc of readDocuments(join(DEMO, 'corpus', file))) out.push(doc.text);
  return out;
}

describe('demo corpus', () => {
  it('generates the same documents from the same seed and different ones from another', () => {
    expect(generateDocuments(3, 20)).toEqual(generateDocuments(3, 20));
    expect(generateDocuments(3, 20)).not.toEqual(generateDocuments(4, 20));
  });

  it('draws on a vocabulary of hundreds of words, with punctuation, numbers, names and quotes', () => {
    expect(grammarVocabulary().size).toBeGreaterThan(400);
    const text = generateDocuments(1, 300).join(' ');
    for (const mark of ['.', ',', '?', '"', "o'clock"]) expect(text).toContain(mark);
    expect(text).toMatch(/\b\d{2,4}\b/);
    expect(text).toMatch(/\b(Anna|Ben|Clara|Maria)\b/);
  });

  it('committed shards are exactly the generator output (held-out shard checked in full)', async () => {
    const held = CORPUS_SHARDS.find((s) => s.file.startsWith('heldout'))!;
    const expected = shardText(held.part, held.docs)
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text);
    expect(await texts(held.file)).toEqual(expected);
    const first = await texts(CORPUS_SHARDS[0]!.file);
    expect(first).toHaveLength(CORPUS_SHARDS[0]!.docs);
  });
});

describe('demo tokenizer', () => {
  const tok = HfJsonTokenizer.fromFile(join(DEMO, 'model', 'tokenizer.json'));

  it('is a 1024-token byte-level BPE with <|endoftext|> as special id 0', () => {
    expect(tok.vocabSize).toBe(1024);
    expect(tok.specialIds.has(0)).toBe(true);
    expect(tok.idToToken(0)).toBe('<|endoftext|>');
    expect(tok.encode(' the')).toHaveLength(1);
  });

  it('round-trips every held-out document and unseen text through encode/decode', async () => {
    for (const text of await texts('heldout.jsonl.zst')) expect(tok.decode(tok.encode(text))).toBe(text);
    const odd = 'Zebra-42 ünïcödé 🙂 <|endoftext|> tabs\tand\nnewlines';
    expect(tok.decode(tok.encode(odd))).toBe(odd);
  });
});
