// The demo corpus as token streams: every document of a shard encoded and joined with <|endoftext|>
// between documents, the way GPT-NeoX's training data is packed.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDocuments } from '../core/corpus/read.js';
import type { Tokenizer } from '../core/engine.js';

export const DEMO_DIR = dirname(fileURLToPath(import.meta.url));
export const DEMO_MODEL_DIR = join(DEMO_DIR, 'model');
export const TRAIN_SHARDS = ['train-00000.jsonl.zst', 'train-00001.jsonl.zst', 'train-00002.jsonl.zst'].map((f) => join(DEMO_DIR, 'corpus', f));
export const HELDOUT_SHARD = join(DEMO_DIR, 'corpus', 'heldout.jsonl.zst');
/** <|endoftext|> in the demo tokenizer. */
export const EOS_ID = 0;

/** The documents of one or more shards, in order. */
export async function readTexts(files: string[]): Promise<string[]> {
  const texts: string[] = [];
  for (const file of files) for await (const doc of readDocuments(file)) texts.push(doc.text);
  return texts;
}

/** Why: one packed stream per split; each document followed by <|endoftext|>. */
export function packStream(texts: string[], tokenizer: Tokenizer): Int32Array {
  const ids: number[] = [];
  for (const t of texts) {
    for (const id of tokenizer.encode(t)) ids.push(id);
    ids.push(EOS_ID);
  }
  return Int32Array.from(ids);
}
