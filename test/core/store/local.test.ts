// The local-directory store: the shared contract, plus what only a filesystem has (temp files, empty
// directories, a key that is also a directory) and the URI helpers on local paths.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listUri, LocalStore, openStore, openUri } from '../../../core/store/index.js';
import { BAD_KEYS, describeStoreContract, expectCode, readAll } from './contract.js';

function freshDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'dreamsweep-store-'));
}

describeStoreContract('local store', {
  open: async () => openStore(path.join(freshDir(), 'root')),
  bigBytes: 24 * 1024 * 1024,
});

describe('local store', () => {
  it('opens the same root from a path, a relative path and a file:// URI, and names it as a file:// URI', () => {
    const dir = freshDir();
    const root = path.join(dir, 'my store');
    const rel = path.relative(process.cwd(), root);
    const stores = [openStore(root), openStore(rel), openStore(pathToFileURL(root).href)];
    for (const s of stores) {
      expect(s).toBeInstanceOf(LocalStore);
      expect((s as LocalStore).root).toBe(root);
      expect(s.uri).toBe(pathToFileURL(root).href);
    }
    expect(existsSync(root)).toBe(false); // nothing is created until the first write
  });

  it('refuses URIs it cannot serve with E_STORE_URI', async () => {
    for (const uri of ['gs://bucket/x', 'http://host/x', 'file://otherhost/x', '']) await expectCode(() => openStore(uri), 'E_STORE_URI');
  });

  it('writes nothing outside its root for any escaping key', async () => {
    const dir = freshDir();
    const store = openStore(path.join(dir, 'inner', 'root'));
    await store.put('inside', 'x');
    const src = path.join(dir, 'src');
    writeFileSync(src, 'x');
    for (const key of BAD_KEYS) {
      await expectCode(store.put(key as string, 'escaped'), 'E_STORE_KEY');
      await expectCode(store.putFile(key as string, src), 'E_STORE_KEY');
      await expectCode(store.delete(key as string), 'E_STORE_KEY');
    }
    expect(readdirSync(dir).sort()).toEqual(['inner', 'src']);
    expect(readdirSync(path.join(dir, 'inner'))).toEqual(['root']);
    expect(readdirSync(path.join(dir, 'inner', 'root'))).toEqual(['inside']);
    expect(readFileSync(src, 'utf8')).toBe('x');
  });

  it('leaves no temp file behind and ignores stray ones in listings', async () => {
    const root = path.join(freshDir(), 'root');
    const store = openStore(root);
    await store.put('a/b/c.json', '{}');
    expect(readdirSync(path.join(root, 'a', 'b'))).toEqual(['c.json']);
    // As a crash mid-write would leave it:
    writeFileSync(path.join(root, 'a', 'b', '.dreamsweep-tmp-0123456789abcdef'), 'partial');
    writeFileSync(path.join(root, '.dreamsweep-tmp-fedcba9876543210'), 'partial');
    expect(await store.list('')).toEqual(['a/b/c.json']);
    expect(await store.list('a/b/.dreamsweep')).toEqual([]);
  });

  it('prunes directories that a delete leaves empty, but not the root', async () => {
    const root = path.join(freshDir(), 'root');
    const store = openStore(root);
    await store.put('x/y/z/one', '1');
    await store.put('x/two', '2');
    await store.delete('x/y/z/one');
    expect(readdirSync(path.join(root, 'x'))).toEqual(['two']);
    await store.delete('x/two');
    expect(readdirSync(root)).toEqual([]);
    // The freed name can now be a key.
    await store.put('x', 'now a file');
    expect(await store.list('')).toEqual(['x']);
  });

  it('refuses a key that would have to be both a file and a directory with E_STORE_KEY_CONFLICT', async () => {
    const store = openStore(path.join(freshDir(), 'root'));
    await store.put('a/b', '1');
    await expectCode(store.put('a', '2'), 'E_STORE_KEY_CONFLICT');
    await expectCode(store.put('a/b/c', '3'), 'E_STORE_KEY_CONFLICT');
    // A directory is a prefix, not an object.
    expect(await store.get('a')).toBeUndefined();
    expect(await store.exists('a')).toBe(false);
    await expectCode(store.openRead('a'), 'E_STORE_NOT_FOUND');
    await store.delete('a');
    expect(await store.list('')).toEqual(['a/b']);
  });

  it('lists symlinked files as objects and skips foreign names no key can have', async () => {
    const dir = freshDir();
    const root = path.join(dir, 'root');
    mkdirSync(path.join(root, 'shards'), { recursive: true });
    writeFileSync(path.join(dir, 'outside.bin'), 'linked');
    symlinkSync(path.join(dir, 'outside.bin'), path.join(root, 'shards', 'linked.bin'));
    symlinkSync(dir, path.join(root, 'loop')); // a directory link is not followed
    writeFileSync(path.join(root, 'shards', 'back\\slash'), 'foreign');
    const store = openStore(root);
    expect(await store.list('')).toEqual(['shards/linked.bin']);
    expect(new TextDecoder().decode(await store.get('shards/linked.bin'))).toBe('linked');
  });

  it('survives deletes racing puts in the same directory', async () => {
    const store = openStore(path.join(freshDir(), 'root'));
    for (let round = 0; round < 20; round++) {
      await store.put('d/e/seed', 's');
      await Promise.all([store.delete('d/e/seed'), store.put(`d/e/k${round}`, String(round))]);
      expect(await store.get(`d/e/k${round}`)).toBeDefined();
      await store.delete(`d/e/k${round}`);
    }
    expect(await store.list('')).toEqual([]);
  });
});

describe('openUri and listUri on local paths', () => {
  it('reads a file by path or file:// URI, and names a missing one', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'corpus', 'part-0.jsonl');
    mkdirSync(path.dirname(file));
    writeFileSync(file, '{"text":"a"}\n');
    expect((await readAll(await openUri(file))).toString()).toBe('{"text":"a"}\n');
    expect((await readAll(await openUri(pathToFileURL(file).href))).toString()).toBe('{"text":"a"}\n');
    const e = await expectCode(openUri(path.join(dir, 'nope.jsonl')), 'E_STORE_NOT_FOUND');
    expect(e.message).toContain('nope.jsonl');
    await expectCode(openUri(dir), 'E_STORE_NOT_FOUND');
  });

  it('lists a directory recursively, a file as itself, and nothing for a missing path', async () => {
    const dir = freshDir();
    mkdirSync(path.join(dir, 'c', 'sub'), { recursive: true });
    for (const f of ['c/b.jsonl', 'c/a.jsonl', 'c/sub/z.txt']) writeFileSync(path.join(dir, f), f);
    const expected = ['c/a.jsonl', 'c/b.jsonl', 'c/sub/z.txt'].map((f) => path.join(dir, f));
    expect(await listUri(path.join(dir, 'c'))).toEqual(expected);
    expect(await listUri(pathToFileURL(path.join(dir, 'c')).href)).toEqual(expected.map((f) => pathToFileURL(f).href));
    expect(await listUri(expected[0]!)).toEqual([expected[0]]);
    expect(await listUri(path.join(dir, 'missing'))).toEqual([]);
  });
});
