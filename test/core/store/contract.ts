// One behavioural table for every ArtifactStore backend: the local-directory store runs it as a unit test
// (local.test.ts), the S3 store against the real versitygw server (test/integration/store.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { isUserError } from '../../../core/errors.js';
import type { ArtifactStore } from '../../../core/store/index.js';

export interface ContractOptions {
  /** A fresh, empty store for each test. */
  open: () => Promise<ArtifactStore>;
  /** Size of the body in the atomicity test: above the S3 multipart threshold on S3. */
  bigBytes: number;
}

/** Keys that try to leave the root, or are otherwise malformed; every operation must refuse them. */
export const BAD_KEYS: readonly unknown[] = [
  '',
  '/etc/passwd',
  '../outside',
  'a/../../outside',
  'a/..',
  '..',
  '.',
  './a',
  'a/./b',
  'a//b',
  'a/',
  'a\\..\\..\\outside',
  'a\0b',
  '.dreamsweep-tmp-x',
  'x'.repeat(256),
  42,
  undefined,
];

/** A body whose bytes depend on `seed`, so a mixed or truncated body is visible. */
export function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 131 + seed * 17 + (i >> 12)) & 0xff;
  return out;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

export async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<UserErrorLike> {
  let error: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(error, `expected a UserError ${code}`).toBeDefined();
  expect(isUserError(error) ? error.code : error).toBe(code);
  return error as UserErrorLike;
}
type UserErrorLike = Error & { code: string };

export function describeStoreContract(name: string, opts: ContractOptions): void {
  describe(`${name}: the ArtifactStore contract`, () => {
    let store: ArtifactStore;
    beforeEach(async () => {
      store = await opts.open();
    });

    it('returns undefined and false for a key never written', async () => {
      expect(await store.get('absent/key.bin')).toBeUndefined();
      expect(await store.exists('absent/key.bin')).toBe(false);
    });

    it('returns what was put, bytes or text, and overwrites', async () => {
      const body = pattern(70_000, 1);
      await store.put('runs/a/blob.bin', body, { contentType: 'application/octet-stream' });
      expect(Buffer.from((await store.get('runs/a/blob.bin'))!).equals(Buffer.from(body))).toBe(true);
      expect(await store.exists('runs/a/blob.bin')).toBe(true);
      await store.put('runs/a/blob.bin', 'now text ✓', { contentType: 'text/plain; charset=utf-8' });
      expect(new TextDecoder().decode(await store.get('runs/a/blob.bin'))).toBe('now text ✓');
      await store.put('empty', new Uint8Array(0));
      expect((await store.get('empty'))?.length).toBe(0);
      expect(await store.exists('empty')).toBe(true);
    });

    it('keeps keys with spaces, unicode and dots in names', async () => {
      const keys = ['dir with space/ünïcode ✓.txt', 'a/.hidden', 'a/..dots..', 'a/b.c/d~e=f+g'];
      for (const k of keys) await store.put(k, k);
      for (const k of keys) expect(new TextDecoder().decode(await store.get(k))).toBe(k);
      expect(await store.list('')).toEqual([...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    });

    it('lists keys under a string prefix, recursively, in UTF-8 byte order', async () => {
      // In UTF-16 order "😀" (0xD83D) sorts before "｡" (0xFF61); in UTF-8 (S3's order) it sorts after.
      const keys = ['runs/b', 'runs/a/y', 'runs/ab/x', 'runs/a/deep/er/z', 'other/q', 'runs/｡', 'runs/😀'];
      for (const k of keys) await store.put(k, k);
      expect(await store.list('runs/')).toEqual(['runs/a/deep/er/z', 'runs/a/y', 'runs/ab/x', 'runs/b', 'runs/｡', 'runs/😀']);
      expect(await store.list('runs/a')).toEqual(['runs/a/deep/er/z', 'runs/a/y', 'runs/ab/x']);
      expect(await store.list('runs/a/')).toEqual(['runs/a/deep/er/z', 'runs/a/y']);
      expect(await store.list('runs/b')).toEqual(['runs/b']);
      expect(await store.list('')).toHaveLength(keys.length);
      expect(await store.list('nothing/here/')).toEqual([]);
      expect(await store.list('runs/b/')).toEqual([]);
    });

    it('deletes, and deleting an absent key is fine', async () => {
      await store.put('d/one', '1');
      await store.put('d/two', '2');
      await store.delete('d/one');
      await store.delete('d/one');
      await store.delete('never/was');
      expect(await store.get('d/one')).toBeUndefined();
      expect(await store.exists('d/one')).toBe(false);
      expect(await store.list('d/')).toEqual(['d/two']);
      await store.delete('d/two');
      expect(await store.list('')).toEqual([]);
    });

    it('streams an object with openRead and names uri and key when it is absent', async () => {
      const body = pattern(300_000, 2);
      await store.put('shards/000.bin', body);
      expect((await readAll(await store.openRead('shards/000.bin'))).equals(Buffer.from(body))).toBe(true);
      const e = await expectCode(store.openRead('shards/001.bin'), 'E_STORE_NOT_FOUND');
      expect(e.message).toContain(store.uri);
      expect(e.message).toContain('shards/001.bin');
    });

    it('stores a local file with putFile, and refuses a missing one', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-store-src-'));
      const file = path.join(dir, 'src.bin');
      const body = pattern(123_457, 3);
      writeFileSync(file, body);
      await store.putFile('files/src.bin', file);
      expect(Buffer.from((await store.get('files/src.bin'))!).equals(Buffer.from(body))).toBe(true);
      await expectCode(store.putFile('files/missing.bin', path.join(dir, 'missing.bin')), 'E_STORE_NO_FILE');
      await expectCode(store.putFile('files/dir.bin', dir), 'E_STORE_NO_FILE');
      expect(await store.list('files/')).toEqual(['files/src.bin']);
    });

    it('refuses every key that could escape the root, in every operation, and writes nothing', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-store-src-'));
      const file = path.join(dir, 'f');
      writeFileSync(file, 'x');
      for (const key of BAD_KEYS) {
        const k = key as string;
        await expectCode(store.get(k), 'E_STORE_KEY');
        await expectCode(store.put(k, 'escaped'), 'E_STORE_KEY');
        await expectCode(store.exists(k), 'E_STORE_KEY');
        await expectCode(store.delete(k), 'E_STORE_KEY');
        await expectCode(store.openRead(k), 'E_STORE_KEY');
        await expectCode(store.putFile(k, file), 'E_STORE_KEY');
      }
      for (const prefix of ['/', '/a', '../', 'a/../', '..//', 'a//', './', 'a\\b', 'a\0']) {
        await expectCode(store.list(prefix), 'E_STORE_KEY');
      }
      expect(await store.list('')).toEqual([]);
    });

    it('lets a reader see all of an object or none of it while a big put runs', async () => {
      const first = Buffer.from(pattern(opts.bigBytes, 4));
      const second = Buffer.from(pattern(opts.bigBytes + 1000, 5));
      const seen = { none: 0, first: 0, second: 0 };
      const watch = async (done: () => boolean, allowed: Buffer[], allowNone: boolean) => {
        do {
          const got = await store.get('big/object.bin');
          if (got === undefined) {
            expect(allowNone, 'object vanished during an overwrite').toBe(true);
            seen.none++;
            continue;
          }
          const b = Buffer.from(got);
          const which = allowed.findIndex((a) => a.equals(b));
          expect(which, `a reader saw ${b.length} bytes that match no whole body`).toBeGreaterThanOrEqual(0);
          if (allowed[which] === first) seen.first++;
          else seen.second++;
        } while (!done());
      };
      let finished = false;
      await Promise.all([store.put('big/object.bin', first).finally(() => (finished = true)), watch(() => finished, [first], true)]);
      finished = false;
      await Promise.all([store.put('big/object.bin', second).finally(() => (finished = true)), watch(() => finished, [first, second], false)]);
      expect(Buffer.from((await store.get('big/object.bin'))!).equals(second)).toBe(true);
      // Reads did overlap both puts (measured: hundreds locally, ~10 against versitygw).
      expect(seen.none).toBeGreaterThan(0);
      expect(seen.first).toBeGreaterThan(0);
    });

    it('either holds "a" beside "a/b" (S3) or refuses the second with E_STORE_KEY_CONFLICT (files)', async () => {
      await store.put('k/a/b', 'child');
      const first = await store.put('k/a', 'parent').then(
        () => 'ok',
        (e: unknown) => e,
      );
      await store.put('j/a', 'parent');
      const second = await store.put('j/a/b', 'child').then(
        () => 'ok',
        (e: unknown) => e,
      );
      for (const r of [first, second]) if (r !== 'ok') expect(isUserError(r) ? r.code : r).toBe('E_STORE_KEY_CONFLICT');
      expect(first === 'ok').toBe(second === 'ok');
      const expected = first === 'ok' ? ['j/a', 'j/a/b', 'k/a', 'k/a/b'] : ['j/a', 'k/a/b'];
      expect(await store.list('')).toEqual(expected);
      // Either way a prefix is no object.
      expect(await store.get('k')).toBeUndefined();
      expect(await store.exists('k')).toBe(false);
    });

    it('ends concurrent puts of one key with one whole body', async () => {
      const bodies = [0, 1, 2, 3].map((i) => Buffer.from(pattern(200_000 + i, 10 + i)));
      await Promise.all(bodies.map((b) => store.put('race/key', b)));
      const got = Buffer.from((await store.get('race/key'))!);
      expect(bodies.some((b) => b.equals(got))).toBe(true);
      expect(await store.list('race/')).toEqual(['race/key']);
    });
  });
}
