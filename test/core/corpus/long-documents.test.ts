// Long documents (over the reader's long-document size) are read in pieces and tokenised piecewise: the ids, the
// windows, their sources, the counts and every error and skip must equal reading the document whole. The cut rule
// is checked against every fixture tokenizer on generated texts (whitespace runs, newlines, digits, punctuation,
// contractions, non-ASCII, combining marks, emoji, added tokens' text).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonFieldScanner, JsonSyntaxError } from '../../../core/corpus/json-field.js';
import { LONG_DOCUMENT_BYTES } from '../../../core/corpus/read.js';
import { scanCorpus } from '../../../core/corpus/scan.js';
import { readDocuments, type CorpusDocument, type ReadOptions } from '../../../core/corpus/read.js';
import { SkipLog } from '../../../core/corpus/skips.js';
import { corpusWindows, encodeInPieces, MAX_UNCUT_CHARS, PIECE_CHARS, type TokenWindow } from '../../../core/corpus/windows.js';
import { isUserError } from '../../../core/errors.js';
import { HfJsonTokenizer } from '../../../core/model/tokenizer.js';
import type { CutFinder } from '../../../core/model/tokenizer-cuts.js';
import { fakeEvaluator, memoryStore, targets, tempDir, zstdRaw } from './helpers.js';

const MODELS = join(import.meta.dirname, '../../fixtures/models');

/** Every fixture tokenizer, one per distinct tokenizer.json. */
function fixtureTokenizers(): Array<[string, HfJsonTokenizer, Chunker]> {
  const seen = new Set<string>();
  const out: Array<[string, HfJsonTokenizer, Chunker]> = [];
  for (const name of readdirSync(MODELS).sort()) {
    const file = join(MODELS, name, 'tokenizer.json');
    if (!existsSync(file)) continue;
    const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (seen.has(hash)) continue;
    seen.add(hash);
    out.push([name, HfJsonTokenizer.fromFile(file, join(MODELS, name, 'tokenizer_config.json')), chunker(JSON.parse(readFileSync(file, 'utf8')) as object)]);
  }
  return out;
}

/** The library's own normaliser and pre-tokeniser: the chunks BPE sees (undefined where there is no split, as in Gemma). */
type Chunker = ((text: string) => string[]) | undefined;
function chunker(json: object): Chunker {
  const lib = new HfTokenizer(json, {}) as unknown as { normalizer: ((t: string) => string) | null; pre_tokenizer: ((t: string, o: object) => string[]) | null };
  const { normalizer, pre_tokenizer: pre } = lib;
  if (!pre || (json as { normalizer?: { type?: string } }).normalizer?.type === 'Replace') return undefined;
  return (text) => pre(normalizer ? normalizer(text) : text, { section_index: 0 });
}
const TOKENIZERS = fixtureTokenizers();

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// What generated texts are made of: the characters and runs where tokenizers differ.
const PARTS = [
  'the',
  'The',
  'word',
  'a',
  'I',
  'x',
  'Z',
  ' ',
  ' ',
  ' ',
  '  ',
  '   ',
  '\t',
  '\n',
  '\n\n',
  '\r\n',
  ' \n',
  '\n ',
  '0',
  '7',
  '42',
  '123',
  '12345',
  '3.14',
  '1,000',
  '.',
  ',',
  '!',
  '?',
  ';',
  ':',
  '-',
  '--',
  '"',
  '(',
  ')',
  '[',
  '/',
  "'",
  "'s",
  "'S",
  "'ll",
  "'re",
  "don't",
  'é',
  'e\u0301',
  'ß',
  'naïve',
  'Ελλάδα',
  'Привет',
  '日本語',
  '。',
  '、',
  '中文',
  '😀',
  '👍🏽',
  '\u2126',
  'ﬁ',
  '▁',
  'Ġ',
  '\u00a0',
  '\u3000',
  '\u200b',
  '$',
  '€',
  '+',
  '=',
  '#',
  '@',
  '~',
  '|',
  '<',
  '>',
  '<|endoftext|>',
  '<eos>',
  '<|begin_of_text|>',
  '<|im_start|>',
  '<mask>',
  '</s>',
];

function text(random: () => number, parts: number): string {
  let s = '';
  for (let i = 0; i < parts; i++) s += PARTS[Math.floor(random() * PARTS.length)]!;
  return s;
}

/** Every place the cut rule allows in t. */
function allCuts(cuts: CutFinder, t: string): number[] {
  const out: number[] = [];
  for (let i = cuts(t, 0, t.length - 1); i > 0; i = cuts(t, 0, i - 1)) out.push(i);
  return out;
}

describe('cut rule: encode(a) ++ encode(b) == encode(a + b) wherever a text is cut', () => {
  it('covers every fixture tokenizer family', () => {
    // GPT-NeoX (tiny-fp16 and tiny-parallel share theirs), GPT-2, Llama 3, Qwen, Gemma.
    expect(TOKENIZERS.map(([name]) => name)).toEqual(expect.arrayContaining(['tiny-fp16', 'tiny-gpt2', 'tiny-llama3', 'tiny-qwen2-bf16', 'tiny-gemma2']));
    for (const [name, tok] of TOKENIZERS) expect(typeof tok.cuts, name).toBe('function');
  });

  it.each(TOKENIZERS)('%s: at every allowed cut of 300 generated texts (the ids, and the pre-tokeniser chunks)', (_name, tok, chunks) => {
    const cuts = tok.cuts as CutFinder;
    const random = rng(_name.length * 7919);
    let checked = 0;
    for (let k = 0; k < 300; k++) {
      const t = text(random, 5 + Math.floor(random() * 40));
      const whole = tok.encode(t);
      for (const i of allCuts(cuts, t)) {
        const where = JSON.stringify([t.slice(0, i), t.slice(i)]);
        expect([...tok.encode(t.slice(0, i)), ...tok.encode(t.slice(i))], where).toEqual(whole);
        // A tiny vocabulary may hide a wrong cut in the ids; the chunks do not.
        if (chunks) expect([...chunks(t.slice(0, i)), ...chunks(t.slice(i))], where).toEqual(chunks(t));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200); // the rule is not vacuous
  });

  it.each(TOKENIZERS)('%s: encodeInPieces over texts fed in random pieces equals encoding them whole', async (_name, tok, _chunks) => {
    const random = rng(17);
    for (let k = 0; k < 20; k++) {
      const t = text(random, 200 + Math.floor(random() * 400));
      const pieces: string[] = [];
      for (let at = 0; at < t.length;) {
        const len = 1 + Math.floor(random() * 50);
        pieces.push(t.slice(at, at + len));
        at += len;
      }
      const runs: number[][] = [];
      for await (const run of encodeInPieces(tok, toAsync(pieces), 'test', 16 + Math.floor(random() * 64))) runs.push(run);
      expect(runs.length).toBeGreaterThan(1);
      expect(runs.flat()).toEqual(tok.encode(t));
    }
  });

  it('refuses a stretch longer than the limit with no cut, with a code (skippable)', async () => {
    const encode = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
    const tokenizer = { encode, cuts: { none: 'a pre-tokeniser dreamsweep has no cut rule for' } };
    const big = 'x'.repeat(MAX_UNCUT_CHARS + 1);
    const err = await (async () => {
      for await (const run of encodeInPieces(tokenizer, toAsync([big]), 'c.jsonl:3')) void run;
    })().catch((e: unknown) => e);
    expect(isUserError(err) && err.code).toBe('E_CORPUS_DOCUMENT_TOO_LONG');
    expect((err as Error).message).toMatch(/^c\.jsonl:3: a stretch of more than \d+ characters cannot be cut for this tokenizer \(a pre-tokeniser/);
    // Below the limit, a text with no cut is tokenised whole.
    const runs: number[][] = [];
    for await (const run of encodeInPieces(tokenizer, toAsync(['y'.repeat(1000)]), 'c', 10)) runs.push(run);
    expect(runs).toEqual([encode('y'.repeat(1000))]);
  });
});

async function* toAsync<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    if (!isUserError(e)) throw e;
    return { code: e.code, message: e.message };
  }
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const LONG = { longDocumentBytes: 40 };

describe('long documents read in pieces', () => {
  const good = [
    JSON.stringify({ id: 1, text: 'plain words and more words to pass the long size, café 😀' }),
    JSON.stringify({ meta: { text: 'nested, not this one' }, list: [1, 2.5e-3, -0, true, null, 'x'], text: 'the field after nested values of every kind' }),
    '{"text":"escapes: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00 \\u0041 a lone \\ud800 half","x":1}',
    '{"text":"the first of two","n":0,"text":"duplicate keys: JSON.parse keeps the last, and so must the scanner"}',
    '  {"a" : [ {"b" : "c"} ] , "text" : "spaces around every token of the line, and a CRLF ending"}  \r',
    JSON.stringify({ text: 'x'.repeat(3000) + ' y'.repeat(500) }),
  ];

  it('gives the documents of reading whole: .jsonl on disk, through a store in small chunks, and .jsonl.zst', async () => {
    const body = good.join('\n') + '\n';
    const file = tmp.write('a.jsonl', body);
    const zst = tmp.write('a.jsonl.zst', zstdRaw(body, 97));
    const store = memoryStore({ 'mem://c/a.jsonl': body }, 7); // chunks split escapes and UTF-8 sequences
    for (const [uri, options] of [
      [file, {}],
      [zst, {}],
      ['mem://c/a.jsonl', { store }],
    ] as Array<[string, ReadOptions]>) {
      const whole = await collect(readDocuments(uri, options));
      expect(whole).toHaveLength(good.length);
      expect(await collect(readDocuments(uri, { ...options, ...LONG })), uri).toEqual(whole);
    }
  });

  it('a long .txt document equals the whole file', async () => {
    const body = 'line one é\n\nline two 😀 ' + 'words '.repeat(2000);
    const file = tmp.write('a.txt', body);
    const whole: CorpusDocument[] = await collect(readDocuments(file));
    expect(await collect(readDocuments(file, LONG))).toEqual(whole);
    expect(whole[0]!.text).toBe(body);
    // Not UTF-8 (a byte that is never valid, or a character cut off at the end): the same error, or skip.
    for (const tail of [[0xff], [0xe2, 0x82]]) {
      const bad = tmp.write('bad.txt', Uint8Array.from([...Buffer.from(body), ...tail]));
      const failed = await outcome(collect(readDocuments(bad)));
      expect(failed).toMatchObject({ code: 'E_CORPUS_BAD_UTF8' });
      expect(await outcome(collect(readDocuments(bad, LONG)))).toEqual(failed);
      const logs = [new SkipLog(), new SkipLog()];
      expect(await collect(readDocuments(bad, { ...LONG, skipBad: true, skips: logs[0] }))).toEqual([]);
      await collect(readDocuments(bad, { skipBad: true, skips: logs[1] }));
      expect(logs[0]!.toJSON()).toEqual(logs[1]!.toJSON());
    }
  });

  const bad: Array<[string, string | Uint8Array]> = [
    ['E_CORPUS_BAD_UTF8', Uint8Array.from([...Buffer.from('{"text":"valid start, long enough to be a long line '), 0xff, ...Buffer.from('"}')])],
    ['E_CORPUS_BAD_UTF8', Uint8Array.from([...Buffer.from('{"text":"ends in half a character, long enough to be long'), 0xe2, 0x82])],
    ['E_CORPUS_BAD_JSON', '{"text":"truncated, as a line cut off mid-way through its text field'],
    ['E_CORPUS_BAD_JSON', '{"text":"a raw tab\tinside a string is not JSON, as JSON.parse says"}'],
    ['E_CORPUS_BAD_JSON', '{"text":"a trailing comma is not JSON either, however long the line",}'],
    ['E_CORPUS_BAD_JSON', '{"text":"two values on one line","n":1} {"text":"the second one"}'],
    ['E_CORPUS_BAD_JSON', '{"text":"a number with a leading zero is not JSON","n":012}'],
    ['E_CORPUS_MISSING_FIELD', JSON.stringify(['an array, not an object, on a line long enough', 1, 2])],
    ['E_CORPUS_MISSING_FIELD', '   null                                                          '],
    ['E_CORPUS_MISSING_FIELD', '"a string, not an object, on a line long enough to be long"'],
    ['E_CORPUS_MISSING_FIELD', '{"body":"no text field","10":1,"2":2,"zeta":3,"body":4,"a":5,"b":6,"c":7,"d":8,"e":9,"4294967295":0,"01":1}'],
    ['E_CORPUS_BAD_FIELD', '{"text":12345678901234567890123456789012345678901234567890123}'],
    ['E_CORPUS_BAD_FIELD', '{"text":null,"note":"null is not a string, however long the line"}'],
    ['E_CORPUS_BAD_FIELD', '{"text":["a","list","of","strings","is","not","a","string","either"]}'],
    ['E_CORPUS_BAD_FIELD', '{"text":"a string first","text":{"then":"an object: the last one counts"}}'],
  ];

  it.each(bad)('a bad long line fails as a short one does: %s', async (code, line) => {
    const file = tmp.write('bad.jsonl', typeof line === 'string' ? `${line}\n` : Uint8Array.from([...line, 10]));
    const whole = (await outcome(collect(readDocuments(file)))) as { code: string; message: string };
    expect(whole.code).toBe(code);
    const long = (await outcome(collect(readDocuments(file, LONG)))) as { code: string; message: string };
    // The same message, but JSON.parse's own words about where the JSON breaks (the scanner says it its way).
    const noDetail = (m: string) => m.replace(/not valid JSON \(.*\); /, 'not valid JSON (...); ');
    expect({ ...long, message: noDetail(long.message) }).toEqual({ ...whole, message: noDetail(whole.message) });
    // And as a counted skip, between two good lines.
    const skipped = tmp.write('skip.jsonl', Buffer.concat([Buffer.from(`${good[0]}\n`), Buffer.from(line), Buffer.from(`\n${good[1]}\n`)]));
    const logs = [new SkipLog(), new SkipLog()];
    const docs = [await collect(readDocuments(skipped, { skipBad: true, skips: logs[0] })), await collect(readDocuments(skipped, { skipBad: true, skips: logs[1], ...LONG }))];
    expect(docs[1]).toEqual(docs[0]);
    expect(docs[0]).toHaveLength(2);
    expect(JSON.parse(noDetail(JSON.stringify(logs[1]!.toJSON())))).toEqual(JSON.parse(noDetail(JSON.stringify(logs[0]!.toJSON()))));
  });

  it('skips a long blank line (any whitespace trim removes) as a short one is', async () => {
    const file = tmp.write('blank.jsonl', `${' \t\u00a0\u3000\ufeff'.repeat(30)}\n${good[0]}\n`);
    expect(await collect(readDocuments(file, LONG))).toEqual(await collect(readDocuments(file)));
  });

  it('the scanner accepts exactly what JSON.parse accepts', () => {
    const cases = [
      '{}',
      '[]',
      '{"a":1}',
      ' {"a" : [1, 2, {"b": null}], "c": "d"} ',
      '{"a":-0.5e+10}',
      '{"a":1E5}',
      '{"a":"\\u00e9"}',
      '0',
      '-1',
      '"s"',
      'true',
      'false',
      'null',
      '{',
      '{"a"}',
      '{"a":}',
      '{"a":1,}',
      '[1,]',
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":-}',
      '{"a":1e}',
      '{"a":tru}',
      '{"a":"\\x"}',
      '{"a":"\\u12g4"}',
      '{"a":1}}',
      '{"a":1]',
      '[1}',
      '"\u0001"',
      '',
      '   ',
      '{"a":1} 2',
      '\ufeff{}',
      "{'a':1}",
      '{a:1}',
      '{"a":NaN}',
      '{"a":Infinity}',
      '{"a":+1}',
    ];
    for (const c of cases) {
      let parsed = true;
      try {
        JSON.parse(c);
      } catch {
        parsed = false;
      }
      const scanner = new JsonFieldScanner('text');
      let scanned = true;
      try {
        for (const piece of c.match(/[\s\S]{1,3}/g) ?? []) scanner.push(piece);
        scanner.end();
      } catch (e) {
        if (!(e instanceof JsonSyntaxError)) throw e;
        scanned = false;
      }
      expect(scanned, c).toBe(parsed);
    }
  });
});

describe('windows of a document longer than the piece size', () => {
  // More characters than PIECE_CHARS, so the document is tokenised in several pieces.
  const random = rng(5);
  const words = Array.from({ length: Math.ceil((PIECE_CHARS * 1.3) / 7) }, () => text(random, 1));
  const long = words.join(' ');

  const runs = async (tok: HfJsonTokenizer, uri: string, options: Record<string, unknown>) => {
    const docs: number[] = [];
    const windows = await collect(corpusWindows([{ uri }], tok, { n: 8, stride: 5, onDocument: (t) => docs.push(t), ...options }));
    return { docs, windows };
  };

  it.each(TOKENIZERS.filter(([name]) => ['tiny-gpt2', 'tiny-llama3', 'tiny-gemma2'].includes(name)))(
    '%s: the same windows, ids, sources, positions and token counts as reading it whole; resuming inside it too',
    async (_name, tok, _chunks) => {
      const file = tmp.write('c.jsonl', `${JSON.stringify({ text: 'a short one' })}\n${JSON.stringify({ text: long })}\n${JSON.stringify({ text: 'another short one' })}\n`);
      const whole = await runs(tok, file, {});
      const pieces = await runs(tok, file, LONG);
      expect(pieces.docs).toEqual(whole.docs);
      expect(pieces.windows.length).toBe(whole.windows.length);
      expect(pieces.windows).toEqual(whole.windows);
      expect(whole.docs[1]).toBe(tok.encode(long).length);
      // Resume right after a window in the middle of the long document.
      const mid: TokenWindow = whole.windows[Math.floor(whole.windows.length / 2)]!;
      const rest = await runs(tok, file, { ...LONG, from: mid.next });
      expect(rest.windows).toEqual(whole.windows.slice(whole.windows.indexOf(mid) + 1));
      expect(rest.docs).toEqual(whole.docs.slice(2));
    },
    60_000,
  );

  it('a long document with no cut past the limit fails with its line, or is skipped and counted with skipBad', async () => {
    const encode = (t: string) => Array.from(t, (c) => c.charCodeAt(0) % 7);
    const tokenizer = { encode, cuts: { none: 'no rule' } };
    const lines = [{ text: 'short one, long enough' }, { text: 'x'.repeat(MAX_UNCUT_CHARS + 1) }, { text: 'another short one' }].map((o) => JSON.stringify(o));
    const file = tmp.write('c.jsonl', `${lines.join('\n')}\n`);
    const failed = (await outcome(collect(corpusWindows([{ uri: file }], tokenizer, { n: 4 })))) as { code: string; message: string };
    expect(failed.code).toBe('E_CORPUS_DOCUMENT_TOO_LONG');
    expect(failed.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: a stretch of more than`));
    const skips = new SkipLog();
    const windows = await collect(corpusWindows([{ uri: file }], tokenizer, { n: 4, skipBad: true, skips }));
    expect(new Set(windows.map((w) => w.source.byteOffset))).toEqual(new Set([0, lines[0]!.length + lines[1]!.length + 2]));
    expect(skips.toJSON()).toMatchObject({ count: 1, byCode: { E_CORPUS_DOCUMENT_TOO_LONG: 1 }, examples: [{ byteOffset: lines[0]!.length + 1 }] });
  }, 60_000);
});

describe('a scan over a document longer than the long-document size', () => {
  it('gives the result of tokenising that document whole, byte for byte', async () => {
    const tok = TOKENIZERS.find(([name]) => name === 'tiny-gpt2')![1];
    // The same tokenizer without a cut rule: a long document's text is gathered and encoded in one call, as before.
    const whole = Object.assign(Object.create(Object.getPrototypeOf(tok) as object) as HfJsonTokenizer, tok, { cuts: { none: 'test: whole' } });
    const random = rng(9);
    let long = '';
    while (Buffer.byteLength(long) < LONG_DOCUMENT_BYTES * 1.2) long += `${text(random, 50)} `;
    const file = tmp.write('c.jsonl', [{ text: 'a short document before it' }, { text: long }, { text: 'and one after it' }].map((o) => JSON.stringify(o)).join('\n'));
    const scan = (tokenizer: HfJsonTokenizer) =>
      scanCorpus({ shards: [file], tokenizer, evaluate: fakeEvaluator(16), targets: targets([1], 2, 16), n: 64, stride: 48, k: 5, batchSize: 512 });
    const [pieces, reference] = [await scan(tok), await scan(whole)];
    expect(pieces.windows).toBeGreaterThan(1000);
    expect(JSON.stringify(pieces)).toBe(JSON.stringify(reference));
  }, 120_000);
});
