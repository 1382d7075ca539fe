import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCorpus, readDocuments, type CorpusDocument, type ReadOptions } from '../../../core/corpus/read.js';
import { SkipLog } from '../../../core/corpus/skips.js';
import { isUserError } from '../../../core/errors.js';
import { FIXTURES, jsonl, memoryStore, tempDir, zstdRaw } from './helpers.js';

async function collect(it: AsyncIterable<CorpusDocument>): Promise<CorpusDocument[]> {
  const out: CorpusDocument[] = [];
  for await (const d of it) out.push(d);
  return out;
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!isUserError(e)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a UserError');
}

const read = (path: string, options?: ReadOptions) => collect(readDocuments(path, options));

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('readDocuments', () => {
  it('reads a .txt file as one document', async () => {
    const path = tmp.write('a.txt', 'First paragraph.\n\nSecond paragraph, é.\n');
    expect(await read(path)).toEqual([{ text: 'First paragraph.\n\nSecond paragraph, é.\n', source: { file: path, line: 1, byteOffset: 0 } }]);
  });

  it('reads jsonl lines with their line numbers and byte offsets, skipping blank lines and CRLF endings', async () => {
    const path = tmp.write('a.jsonl', '{"text":"a b"}\r\n\n  \n{"text":"é c","x":1}\n{"text":""}');
    expect(await read(path)).toEqual([
      { text: 'a b', source: { file: path, line: 1, byteOffset: 0 } },
      { text: 'é c', source: { file: path, line: 4, byteOffset: 20 } },
      { text: '', source: { file: path, line: 5, byteOffset: 42 } },
    ]);
  });

  it('takes the text from the configured field', async () => {
    const path = tmp.write('a.jsonl', jsonl(['one', 'two'], 'content'));
    expect((await read(path, { textField: 'content' })).map((d) => d.text)).toEqual(['one', 'two']);
  });

  it('reads .jsonl.zst exactly like the uncompressed file, across frames and blocks', async () => {
    const text = jsonl(Array.from({ length: 3000 }, (_, i) => `document ${i} ${'x'.repeat(i % 300)}`));
    const plain = tmp.write('a.jsonl', text);
    const zst = tmp.write('a.jsonl.zst', zstdRaw(text, 100_000));
    const a = await read(plain);
    const b = await read(zst);
    expect(b.map((d) => [d.text, d.source.line, d.source.byteOffset])).toEqual(a.map((d) => [d.text, d.source.line, d.source.byteOffset]));
    expect(b).toHaveLength(3000);
  });

  it('reads a file made by the zstd CLI (compressed blocks, two frames, --long, checksums)', async () => {
    const zst = await read(join(FIXTURES, 'pile-like.jsonl.zst'));
    const plain = await read(join(FIXTURES, 'pile-like.jsonl'));
    expect(zst).toHaveLength(300);
    expect(zst.map((d) => d.text)).toEqual(plain.map((d) => d.text));
    expect(zst[0]!.text).toContain('é ✓');
  });

  it('streams a .zst of several MB: the first document arrives after a few chunks', async () => {
    const text = jsonl(Array.from({ length: 40_000 }, (_, i) => `doc ${i} ${'lorem ipsum '.repeat(10)}`));
    const bytes = zstdRaw(text);
    expect(bytes.length).toBeGreaterThan(5_000_000);
    const store = memoryStore({ 'mem://big.jsonl.zst': bytes }, 1 << 16);
    const totalChunks = Math.ceil(bytes.length / (1 << 16));
    const docs = readDocuments('mem://big.jsonl.zst', { store });
    const first = await docs.next();
    expect(first.value?.text).toBe(`doc 0 ${'lorem ipsum '.repeat(10)}`);
    expect(store.chunksRead).toBeLessThanOrEqual(3);
    let count = 1;
    for await (const _ of docs) count++;
    expect(count).toBe(40_000);
    expect(store.chunksRead).toBe(totalChunks);
  });

  it('stops pulling bytes when the reader is closed early', async () => {
    const bytes = zstdRaw(jsonl(Array.from({ length: 20_000 }, (_, i) => `doc ${i} ${'z'.repeat(200)}`)));
    const store = memoryStore({ 'mem://big.jsonl.zst': bytes }, 1 << 16);
    for await (const d of readDocuments('mem://big.jsonl.zst', { store })) if (d.text.startsWith('doc 100 ')) break;
    expect(store.chunksRead).toBeLessThan(5);
  });

  it('reads byte ranges that tile a file into exactly the whole file', async () => {
    const text = jsonl(Array.from({ length: 200 }, (_, i) => `line ${i} ${'y'.repeat(i % 13)}`));
    for (const name of ['r.jsonl', 'r.jsonl.zst']) {
      const path = tmp.write(name, name.endsWith('.zst') ? zstdRaw(text, 1000) : text);
      const whole = await read(path);
      const size = text.length;
      const cuts = [0, 1, 17, 18, 19, 500, 1234, 1235, size - 1, size];
      const pieces: CorpusDocument[] = [];
      for (let i = 0; i + 1 < cuts.length; i++) pieces.push(...(await collect(readDocuments({ uri: path, start: cuts[i]!, end: cuts[i + 1]! }))));
      pieces.push(...(await collect(readDocuments({ uri: path, start: size }))));
      expect(pieces.map((d) => [d.text, d.source.byteOffset])).toEqual(whole.map((d) => [d.text, d.source.byteOffset]));
      // A range that starts at byte 0 knows line numbers; one that starts mid-file does not.
      expect((await collect(readDocuments({ uri: path, start: 500 })))[0]!.source.line).toBeUndefined();
    }
  });

  it('reads a .txt document only in the range that holds byte 0', async () => {
    const path = tmp.write('a.txt', 'hello');
    expect(await collect(readDocuments({ uri: path, start: 0, end: 3 }))).toHaveLength(1);
    expect(await collect(readDocuments({ uri: path, start: 3 }))).toHaveLength(0);
  });

  it('resumes at a document, keeping its line number', async () => {
    const text = jsonl(['a', 'b', 'c', 'd']);
    for (const name of ['s.jsonl', 's.jsonl.zst']) {
      const path = tmp.write(name, name.endsWith('.zst') ? zstdRaw(text, 7) : text);
      const all = await read(path);
      const rest = await read(path, { from: { byteOffset: all[2]!.source.byteOffset, line: 3 } });
      expect(rest).toEqual(all.slice(2));
    }
  });

  it('reads remote URIs through the injected store', async () => {
    const store = memoryStore({ 's3://b/x.jsonl': jsonl(['remote']) });
    expect((await read('s3://b/x.jsonl', { store })).map((d) => d.text)).toEqual(['remote']);
    expect((await failure(read('s3://b/x.jsonl'))).code).toBe('E_CORPUS_NO_STORE');
  });

  it('reads several shards in the given order', async () => {
    const a = tmp.write('a.jsonl', jsonl(['1', '2']));
    const b = tmp.write('b.txt', '3');
    expect((await collect(readCorpus([b, a]))).map((d) => d.text)).toEqual(['3', '1', '2']);
  });
});

describe('readDocuments on bad input', () => {
  it.each([
    ['a line that is not JSON', '{"text":"ok"}\n{"text": oops}\n', 'E_CORPUS_BAD_JSON', ':2:'],
    ['a line without the field', '{"text":"ok"}\n{"body":"x"}\n', 'E_CORPUS_MISSING_FIELD', ':2:'],
    ['a line that is not an object', '[1,2]\n', 'E_CORPUS_MISSING_FIELD', ':1:'],
    ['a field that is not a string', '{"text":"ok"}\n\n{"text":3}\n', 'E_CORPUS_BAD_FIELD', ':3:'],
  ])('fails on %s with a code, file and line', async (_what, content, code, where) => {
    const path = tmp.write('bad.jsonl', content);
    const f = await failure(read(path));
    expect(f.code).toBe(code);
    expect(f.message).toContain(`${path}${where}`);
  });

  it('fails on invalid UTF-8 with the line', async () => {
    const path = tmp.write('bad.jsonl', Buffer.concat([Buffer.from('{"text":"ok"}\n{"text":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
    const f = await failure(read(path));
    expect([f.code, f.message.includes(`${path}:2:`)]).toEqual(['E_CORPUS_BAD_UTF8', true]);
  });

  it('names the byte offset when the line number is unknown', async () => {
    const path = tmp.write('bad.jsonl', '{"text":"ok"}\n{"text":"ok"}\nnope\n');
    const f = await failure(read({ uri: path, start: 3 } as never));
    expect(f.message).toContain(`${path} (byte 28)`);
  });

  it('fails on a corrupt or truncated .zst', async () => {
    const good = zstdRaw(jsonl(['a', 'b', 'c']));
    const truncated = tmp.write('t.jsonl.zst', good.subarray(0, good.length - 3));
    const garbage = tmp.write('g.jsonl.zst', Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]));
    const trailing = tmp.write('x.jsonl.zst', Buffer.concat([good, Buffer.from('trailing junk that is not a frame')]));
    const real = readFileSync(join(FIXTURES, 'pile-like.jsonl.zst'));
    const flipped = Uint8Array.from(real);
    for (let i = 200; i < 260; i++) flipped[i] = flipped[i]! ^ 0x5a;
    const corrupt = tmp.write('c.jsonl.zst', flipped);
    for (const path of [truncated, garbage, trailing]) {
      const f = await failure(read(path));
      expect([path, f.code]).toEqual([path, 'E_CORPUS_BAD_ZSTD']);
      expect(f.message).toContain(path);
    }
    // Corrupted compressed blocks fail in the decoder or in the JSON they yield: never silently.
    expect(['E_CORPUS_BAD_ZSTD', 'E_CORPUS_BAD_JSON', 'E_CORPUS_BAD_UTF8', 'E_CORPUS_MISSING_FIELD']).toContain((await failure(read(corrupt))).code);
  });

  it('fails on a missing file and on an unknown extension', async () => {
    expect((await failure(read(join(tmp.dir, 'nope.jsonl')))).code).toBe('E_CORPUS_NOT_FOUND');
    expect((await failure(read(tmp.write('a.csv', 'x')))).code).toBe('E_CORPUS_FORMAT');
  });

  it('counts and reports skips when asked to, and keeps the good documents', async () => {
    const path = tmp.write('mixed.jsonl', '{"text":"a"}\nnot json\n{"body":1}\n{"text":"b"}\n{"text":null}\n');
    const skips = new SkipLog();
    const docs = await read(path, { skipBad: true, skips });
    expect(docs.map((d) => d.text)).toEqual(['a', 'b']);
    expect(skips.toJSON().count).toBe(3);
    expect(skips.toJSON().byCode).toEqual({ E_CORPUS_BAD_FIELD: 1, E_CORPUS_BAD_JSON: 1, E_CORPUS_MISSING_FIELD: 1 });
    expect(skips.toJSON().examples.map((e) => [e.code, e.byteOffset])).toEqual([
      ['E_CORPUS_BAD_JSON', 13],
      ['E_CORPUS_MISSING_FIELD', 22],
      ['E_CORPUS_BAD_FIELD', 46],
    ]);
  });

  it('skips the rest of a corrupt .zst as one counted skip', async () => {
    const good = zstdRaw(jsonl(['a', 'b']));
    const path = tmp.write('t.jsonl.zst', Buffer.concat([good, Buffer.from('junk junk junk junk junk')]));
    const skips = new SkipLog();
    expect((await read(path, { skipBad: true, skips })).map((d) => d.text)).toEqual(['a', 'b']);
    expect(skips.toJSON().byCode).toEqual({ E_CORPUS_BAD_ZSTD: 1 });
    expect(skips.toJSON().examples[0]).toMatchObject({ file: path, byteOffset: 40 });
  });
});
