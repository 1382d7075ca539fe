// Peak memory of reading and windowing a corpus of one huge document (issue #33: one 100 MB line took 6.6 GB),
// each case in a fresh process: a one-line .jsonl and a .txt of --mb MB (and of twice that, to show the peak does
// not grow with the document), read in pieces as the scan reads them, and, for comparison, a --whole-mb MB line
// read whole (the path every document under the long-document size takes). The text is words, numbers,
// punctuation, non-ASCII and emoji in a fixed pseudo-random order; windows of n = 64 as a scan takes them.
// Prints one JSON object: per case the bytes, tokens, windows, seconds and the process's peak RSS in MB.
// Usage: tsx bench/long-document-memory.ts [--mb 100] [--whole-mb 10] [--model test/fixtures/models/tiny-gpt2]
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { corpusWindows } from '../core/corpus/windows.js';
import { HfJsonTokenizer } from '../core/model/tokenizer.js';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '100' },
    'whole-mb': { type: 'string', default: '10' },
    model: { type: 'string', default: 'test/fixtures/models/tiny-gpt2' },
    child: { type: 'string' }, // internal: measure one file in this process
    whole: { type: 'boolean', default: false },
  },
});

const WORDS = ['the', 'of', 'and', 'model', 'layer', 'a', 'is', 'in', 'café', 'naïve', '日本語', '😀', '2024', '3.14', '!', ',', '\n', '  ', '(x)'];

/** Writes one document of about `bytes` bytes (a jsonl line or a whole .txt), a megabyte at a time. */
function writeDocument(file: string, format: 'jsonl' | 'txt', bytes: number): number {
  const fd = openSync(file, 'w');
  let s = 1;
  let n = 0;
  if (format === 'jsonl') writeSync(fd, '{"id":0,"text":"');
  while (n < bytes) {
    const parts: string[] = [];
    for (let k = 0; k < 1e6 && n < bytes;) {
      s = (s * 1103515245 + 12345) >>> 0;
      const w = WORDS[(s >>> 16) % WORDS.length]!;
      parts.push(w, ' ');
      k += Buffer.byteLength(w) + 1;
      n += Buffer.byteLength(w) + 1;
    }
    const text = parts.join('');
    writeSync(fd, format === 'jsonl' ? JSON.stringify(text).slice(1, -1) : text);
  }
  if (format === 'jsonl') writeSync(fd, '"}\n');
  closeSync(fd);
  return n;
}

async function measure(file: string, model: string, whole: boolean): Promise<object> {
  const tokenizer = HfJsonTokenizer.fromFile(join(model, 'tokenizer.json'));
  const t0 = performance.now();
  let tokens = 0;
  let windows = 0;
  const options = { n: 64, onDocument: (t: number) => (tokens += t), ...(whole ? { longDocumentBytes: Number.MAX_SAFE_INTEGER } : {}) };
  for await (const w of corpusWindows([{ uri: file }], tokenizer, options)) windows += w.ids.length > 0 ? 1 : 0;
  return { tokens, windows, seconds: +((performance.now() - t0) / 1000).toFixed(1), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

if (args.child) {
  process.stdout.write(JSON.stringify(await measure(args.child, args.model, args.whole)));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-long-doc-'));
  try {
    const mb = Number(args.mb);
    const cases: Array<{ name: string; format: 'jsonl' | 'txt'; mb: number; whole?: boolean }> = [
      { name: `jsonl ${mb} MB, in pieces`, format: 'jsonl', mb },
      { name: `jsonl ${2 * mb} MB, in pieces`, format: 'jsonl', mb: 2 * mb },
      { name: `txt ${mb} MB, in pieces`, format: 'txt', mb },
      { name: `jsonl ${args['whole-mb']} MB, whole (as before)`, format: 'jsonl', mb: Number(args['whole-mb']), whole: true },
    ];
    const results: Record<string, unknown> = {};
    for (const c of cases) {
      const file = join(dir, `doc.${c.format}`);
      const textBytes = writeDocument(file, c.format, c.mb * 1e6);
      const childArgs = ['--import', 'tsx', import.meta.filename, '--child', file, '--model', args.model, ...(c.whole ? ['--whole'] : [])];
      const out = JSON.parse(execFileSync(process.execPath, childArgs, { encoding: 'utf8', maxBuffer: 1 << 20 })) as object;
      results[c.name] = { textBytes, ...out };
      rmSync(file);
    }
    process.stdout.write(`${JSON.stringify({ model: args.model, node: process.version, cases: results }, null, 1)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
