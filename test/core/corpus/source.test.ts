import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatOf, openBySkipping, resolveShards } from '../../../core/corpus/source.js';
import { code, memoryStore, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
  mkdirSync(join(tmp.dir, 'shards', 'deep'), { recursive: true });
  for (const name of ['shards/b.jsonl.zst', 'shards/a.jsonl.zst', 'shards/B.jsonl', 'shards/deep/c.txt', 'shards/README.md', 'one.jsonl']) tmp.write(name, '');
});
afterEach(() => tmp.cleanup());

describe('resolveShards', () => {
  it('expands a directory recursively to its corpus files, sorted by code unit', async () => {
    const d = join(tmp.dir, 'shards');
    expect(await resolveShards(d)).toEqual([join(d, 'B.jsonl'), join(d, 'a.jsonl.zst'), join(d, 'b.jsonl.zst'), join(d, 'deep/c.txt')]);
  });

  it('expands globs, merges inputs, removes duplicates and sorts regardless of input order', async () => {
    const d = join(tmp.dir, 'shards');
    const got = await resolveShards([join(tmp.dir, 'one.jsonl'), `${d}/*.jsonl.zst`, join(d, 'a.jsonl.zst')]);
    expect(got).toEqual([join(tmp.dir, 'one.jsonl'), join(d, 'a.jsonl.zst'), join(d, 'b.jsonl.zst')]);
    expect(await resolveShards([...got].reverse())).toEqual(got);
  });

  it('lists a remote prefix through the store and keeps remote objects as given', async () => {
    const store = memoryStore({ 's3://b/p/2.jsonl.zst': '', 's3://b/p/1.jsonl.zst': '', 's3://b/p/x.md': '' });
    expect(await resolveShards('s3://b/p/', store)).toEqual(['s3://b/p/1.jsonl.zst', 's3://b/p/2.jsonl.zst']);
    expect(await resolveShards('s3://b/p/9.jsonl', store)).toEqual(['s3://b/p/9.jsonl']);
    expect(await code(resolveShards('s3://b/q/', store))).toBe('E_CORPUS_EMPTY');
    expect(await code(resolveShards('s3://b/p/*.jsonl', store))).toBe('E_CORPUS_BAD_PATH');
    expect(await code(resolveShards('s3://b/p/'))).toBe('E_CORPUS_NO_STORE');
  });

  it('fails clearly on missing paths, empty globs, unsupported files and no input', async () => {
    expect(await code(resolveShards(join(tmp.dir, 'missing.jsonl')))).toBe('E_CORPUS_NOT_FOUND');
    expect(await code(resolveShards(join(tmp.dir, 'nothing-*.jsonl')))).toBe('E_CORPUS_EMPTY');
    expect(await code(resolveShards(join(tmp.dir, 'shards/README.md')))).toBe('E_CORPUS_FORMAT');
    mkdirSync(join(tmp.dir, 'empty'));
    expect(await code(resolveShards(join(tmp.dir, 'empty')))).toBe('E_CORPUS_EMPTY');
    expect(await code(resolveShards([]))).toBe('E_CORPUS_EMPTY');
  });

  it('knows formats by extension', () => {
    expect(['a.txt', 'a.jsonl', 'a.jsonl.zst', 'a.json', 'a.txt.zst'].map(formatOf)).toEqual(['txt', 'jsonl', 'jsonl.zst', undefined, undefined]);
  });
});

describe('openBySkipping', () => {
  it('serves ranged reads from a store that only streams whole objects', async () => {
    const whole = memoryStore({ 'mem://x.jsonl': '0123456789' }, 3);
    const open = openBySkipping((uri) => whole.open(uri));
    const read = async (start: number) => {
      let s = '';
      for await (const c of await open('mem://x.jsonl', { start })) s += new TextDecoder().decode(c);
      return s;
    };
    expect([await read(0), await read(4), await read(6), await read(10)]).toEqual(['0123456789', '456789', '6789', '']);
  });
});
