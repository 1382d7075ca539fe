// Store key rules: what passes, what is refused (and with which code), and the listing order.
import { describe, expect, it } from 'vitest';
import { checkKey, checkPrefix, compareKeys, isValidKey } from '../../../core/store/index.js';
import { BAD_KEYS, expectCode } from './contract.js';

describe('store keys', () => {
  it('accepts relative /-separated paths, dotted names and unicode', () => {
    for (const k of ['a', 'a/b/c.json', 'runs/ab12/history.safetensors', '.hidden', 'a/..b', 'a/b..', '...', 'ü/✓ x', 'x'.repeat(255)]) {
      expect(checkKey(k)).toBe(k);
    }
  });

  it('refuses keys that could escape the root or are malformed, with E_STORE_KEY', async () => {
    for (const k of BAD_KEYS) {
      const e = await expectCode(() => checkKey(k), 'E_STORE_KEY');
      expect(e.message).toContain("keys cannot escape the store's root");
      expect(isValidKey(k as string)).toBe(false);
    }
  });

  it('counts the 255-byte segment limit in UTF-8 bytes', async () => {
    expect(checkKey('é'.repeat(127))).toHaveLength(127); // 254 bytes
    await expectCode(() => checkKey(`a/${'é'.repeat(128)}`), 'E_STORE_KEY');
  });

  it('accepts a prefix whose last segment is partial or empty, and refuses escapes', async () => {
    for (const p of ['', 'a', 'a/', 'a/b', 'runs/a', '.', '..', 'a/.', 'a/..']) expect(checkPrefix(p)).toBe(p);
    for (const p of ['/', '/a', '../', 'a/../', 'a//', './x', 'a\\', 'a\0', 3]) await expectCode(() => checkPrefix(p), 'E_STORE_KEY');
  });

  it('orders keys by UTF-8 bytes, as S3 lists them', () => {
    const keys = ['b', '😀', 'a/b', '｡', 'a', 'A'];
    expect([...keys].sort(compareKeys)).toEqual(['A', 'a', 'a/b', 'b', '｡', '😀']);
  });
});
