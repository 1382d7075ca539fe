// Writes the demo corpus: `.jsonl.zst` shards of grammar stories (`{"text": ...}` per line), three for
// training and scanning plus a held-out shard for evaluation. Compresses with the `zstd` CLI (needed here
// only: the shards are committed, and readers decompress with fzstd). Deterministic for a given seed.
// Usage: tsx demo/generate.ts [outDir]   (npm run demo:corpus)
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveSeed } from '../core/rng.js';
import { generateDocuments } from './grammar.js';

/** The committed corpus: shard file name -> (seed part, documents). */
export const CORPUS_SHARDS: ReadonlyArray<{ file: string; part: number; docs: number }> = [
  { file: 'train-00000.jsonl.zst', part: 0, docs: 2500 },
  { file: 'train-00001.jsonl.zst', part: 1, docs: 2500 },
  { file: 'train-00002.jsonl.zst', part: 2, docs: 2500 },
  { file: 'heldout.jsonl.zst', part: 99, docs: 600 },
];
export const CORPUS_SEED = 8;

/** The shard's lines as `.jsonl` text. */
export function shardText(part: number, docs: number, seed = CORPUS_SEED): string {
  return generateDocuments(deriveSeed(seed, part), docs)
    .map((text) => `${JSON.stringify({ text })}\n`)
    .join('');
}

function compress(text: string): Buffer {
  const r = spawnSync('zstd', ['-19', '-q', '-c', '--no-check'], { input: text, maxBuffer: 1 << 28 });
  if (r.error || r.status !== 0) {
    throw new Error(`zstd failed (${r.error?.message ?? r.stderr.toString()}); install it: apt-get install zstd`);
  }
  return r.stdout;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'corpus');
  mkdirSync(out, { recursive: true });
  for (const { file, part, docs } of CORPUS_SHARDS) {
    const text = shardText(part, docs);
    const zst = compress(text);
    writeFileSync(join(out, file), zst);
    process.stdout.write(`${file}: ${docs} documents, ${text.length} bytes, ${zst.length} compressed\n`);
  }
}
