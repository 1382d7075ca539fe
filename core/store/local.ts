// The local-directory store: one file per key under a root directory. Writes go to a temp file in the
// target's directory, are fsynced, then renamed over the target, so readers never see part of an object.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../errors.js';
import { checkKey, checkPrefix, compareKeys, isValidKey, TEMP_PREFIX } from './keys.js';
import type { ArtifactStore } from './types.js';

/** Why: the default store, for a laptop or a single machine; also what unit tests run against. */
export class LocalStore implements ArtifactStore {
  readonly uri: string;
  /** Absolute path of the root directory (created on the first write). */
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.uri = pathToFileURL(this.root).href;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const file = this.file(key);
    try {
      const buf = await readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      // ENOTDIR: a parent is a file; EISDIR: the key names a directory (a prefix), not an object.
      if (isCode(e, 'ENOENT', 'ENOTDIR', 'EISDIR')) return undefined;
      throw this.fail(e, key, 'get');
    }
  }

  async put(key: string, body: Uint8Array | string, _meta?: { contentType?: string }): Promise<void> {
    // contentType has no place on a plain file; S3 keeps it.
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await this.atomically(key, async (tmp) => {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  async putFile(key: string, file: string): Promise<void> {
    checkKey(key);
    await checkSourceFile(file, this.locate(key));
    await this.atomically(key, async (tmp) => {
      await copyFile(file, tmp);
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  async exists(key: string): Promise<boolean> {
    const file = this.file(key);
    try {
      return (await stat(file)).isFile();
    } catch (e) {
      if (isCode(e, 'ENOENT', 'ENOTDIR')) return false;
      throw this.fail(e, key, 'exists');
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const cut = prefix.lastIndexOf('/') + 1;
    const dirKey = prefix.slice(0, cut); // "" or "a/b/"
    const keys: string[] = [];
    await this.walk(path.join(this.root, ...dirKey.split('/').filter(Boolean)), dirKey, prefix, keys);
    return keys.sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      await unlink(file);
    } catch (e) {
      // EISDIR/EPERM: the key names a directory, which is no object: nothing to delete.
      if (isCode(e, 'ENOENT', 'ENOTDIR', 'EISDIR', 'EPERM')) return;
      throw this.fail(e, key, 'delete');
    }
    // Prune directories left empty, as S3 has none: keeps listings clean and frees the name for a key.
    for (let dir = path.dirname(file); dir !== this.root && dir.startsWith(this.root); dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (or gone): parents are not empty either
      }
    }
  }

  async openRead(key: string): Promise<NodeJS.ReadableStream> {
    return openLocalFile(this.file(key), this.locate(key));
  }

  /** Why: error messages name the object as one address, `file:///root/key`. */
  locate(key: string): string {
    return `${this.uri}/${key}`;
  }

  private file(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  /** Writes through `write(tmp)`, then renames tmp over the key's file; retries if a delete pruned the directory. */
  private async atomically(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.file(key);
    const dir = path.dirname(target);
    const tmp = path.join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dir, { recursive: true });
        await write(tmp);
        await rename(tmp, target);
        break;
      } catch (e) {
        await rm(tmp, { force: true }).catch(() => undefined);
        // ENOENT: a concurrent delete removed the (then empty) directory between mkdir and write.
        if (isCode(e, 'ENOENT') && attempt < 3) continue;
        if (isCode(e, 'ENOTDIR', 'EEXIST', 'EISDIR')) {
          throw new UserError(
            'E_STORE_KEY_CONFLICT',
            `cannot write ${this.locate(key)}: in a local store a key cannot also be a prefix of other keys ` +
              `("a" and "a/b" cannot both exist, as "a" would have to be a file and a directory); choose another key`,
            { cause: e },
          );
        }
        throw this.fail(e, key, 'put');
      }
    }
    await syncDir(dir);
  }

  private async walk(dir: string, dirKey: string, prefix: string, out: string[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isCode(e, 'ENOENT', 'ENOTDIR')) return;
      throw this.fail(e, prefix, 'list');
    }
    const subdirs: Promise<void>[] = [];
    for (const entry of entries) {
      const key = dirKey + entry.name;
      // `dirKey` is the prefix up to its last "/", so an entry matches iff its key starts with the prefix;
      // below a matching directory every key does.
      if (!key.startsWith(prefix)) continue;
      // Temp files and names no key can have (foreign files) are not objects of this store.
      if (!isValidKey(key)) continue;
      let kind: 'file' | 'dir' | 'other' = entry.isFile() ? 'file' : entry.isDirectory() ? 'dir' : 'other';
      // Symlinked files count as objects; symlinked directories are not followed (no cycles).
      if (entry.isSymbolicLink()) kind = (await stat(path.join(dir, entry.name)).catch(() => undefined))?.isFile() ? 'file' : 'other';
      if (kind === 'file') out.push(key);
      if (kind === 'dir') subdirs.push(this.walk(path.join(dir, entry.name), key + '/', prefix, out));
    }
    await Promise.all(subdirs);
  }

  private fail(e: unknown, key: string, op: string): Error {
    if (e instanceof UserError) return e;
    // No retry can fix a permission: the user's to fix, so refused at once (a worker does not retry it).
    if (isCode(e, 'EACCES', 'EPERM', 'EROFS')) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'EROFS' ? 'the filesystem is read-only' : 'permission denied';
      return new UserError(
        'E_STORE_ACCESS',
        `${op} ${this.locate(key)}: ${why} (${err.code}${err.path ? ` on ${err.path}` : ''}); the store's directory ${this.root} must be readable and writable by this user`,
        { cause: e },
      );
    }
    return new Error(`${op} ${this.locate(key)} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/** Why: a stream that fails only at open (missing file is a UserError), not later with an 'error' event. */
export async function openLocalFile(file: string, shownAs: string): Promise<NodeJS.ReadableStream> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR')) {
      throw new UserError('E_STORE_NOT_FOUND', `${shownAs} does not exist; check the key (or path) and the store URI`, { cause: e });
    }
    throw new Error(`opening ${shownAs} failed: ${(e as Error).message}`, { cause: e });
  }
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw new UserError('E_STORE_NOT_FOUND', `${shownAs} is a directory, not an object (file)`);
  }
  return fh.createReadStream();
}

/** Why: `putFile` of a missing file is the caller's mistake; say so before touching the store. */
export async function checkSourceFile(file: string, target: string): Promise<number> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new UserError('E_STORE_NO_FILE', `cannot store ${file} as ${target}: it is not a regular file`);
    return s.size;
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR')) {
      throw new UserError('E_STORE_NO_FILE', `cannot store ${file} as ${target}: the file does not exist`, { cause: e });
    }
    throw e;
  }
}

// The rename is durable only once the directory entry is on disk; some platforms cannot fsync a directory.
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on platforms without directory fsync: the data itself is synced already.
  } finally {
    await fh?.close();
  }
}

function isCode(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}
