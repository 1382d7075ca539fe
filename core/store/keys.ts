// Store keys: `/`-separated relative paths, checked in one place so that no backend can be led outside its
// root (local directory or S3 prefix), and ordered the way S3 lists them (UTF-8 bytes).
import { UserError } from '../errors.js';

/** The local store's temp files start with this; keys may not, so `list` can skip temp files safely. */
export const TEMP_PREFIX = '.dreamsweep-tmp-';

// Local filesystems (ext4, xfs, APFS) cap a name at 255 bytes; enforced on S3 too, so a key that works on
// one backend works on the other.
const MAX_SEGMENT_BYTES = 255;

const RULES =
  'keys are "/"-separated relative paths (e.g. "runs/ab12/history.safetensors") with no empty, "." or ".." ' +
  'segments, no leading "/", no backslash or NUL (keys cannot escape the store\'s root)';

/** Why: every store operation takes a key from callers; a bad one is the caller's mistake, caught early. */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw badKey(key, `expected a string, got ${typeof key}`);
  if (key === '') throw badKey(key, 'it is empty');
  checkSegments(key, key.split('/'));
  return key;
}

/**
 * Why: `list` takes a prefix in S3's sense (a string prefix of keys, `"runs/a"` matches `"runs/ab/x"`);
 * every complete segment must be a valid key segment, the last (partial) one may be empty.
 */
export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') throw badKey(prefix, `expected a string prefix, got ${typeof prefix}`);
  if (prefix === '') return prefix;
  const segments = prefix.split('/');
  const last = segments.pop()!;
  checkSegments(prefix, segments);
  if (/[\\\0]/.test(last)) throw badKey(prefix, 'it contains a backslash or NUL');
  return prefix;
}

/** True when `key` passes `checkKey`; for filtering listings that may hold foreign objects. */
export function isValidKey(key: string): boolean {
  try {
    checkKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Why: S3 lists keys in UTF-8 byte order; sorting local listings the same way keeps backends identical. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function checkSegments(key: string, segments: string[]): void {
  if (key.startsWith('/')) throw badKey(key, 'it starts with "/"');
  if (/[\\\0]/.test(key)) throw badKey(key, 'it contains a backslash or NUL');
  for (const s of segments) {
    if (s === '') throw badKey(key, 'it has an empty segment ("//" or a trailing "/")');
    if (s === '.' || s === '..') throw badKey(key, `it has a "${s}" segment`);
    if (s.startsWith(TEMP_PREFIX)) throw badKey(key, `segments starting with "${TEMP_PREFIX}" are reserved for temp files`);
    if (Buffer.byteLength(s, 'utf8') > MAX_SEGMENT_BYTES) throw badKey(key, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
}

function badKey(key: unknown, why: string): UserError {
  const shown = typeof key === 'string' ? JSON.stringify(key) : String(key);
  return new UserError('E_STORE_KEY', `invalid store key ${shown}: ${why}; ${RULES}`);
}
