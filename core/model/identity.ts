// A model's identity for provenance and unit keys: the SHA-256 of every file that determines its outputs
// (config.json, tokenizer.json, the safetensors index and weights), read in chunks so a 24 GB checkpoint
// never sits in memory. Memoised per directory for the life of the process.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

const memo = new Map<string, string>();

/** The files of a model directory that make its identity, in the order they are hashed. */
export function identityFiles(names: string[]): string[] {
  return names.filter((f) => f === 'config.json' || f === 'tokenizer.json' || f.endsWith('.safetensors') || f.endsWith('.safetensors.index.json')).sort();
}

/** Records an identity computed elsewhere (hashed while downloading: workers/model-cache.ts) for `dir`. */
export function rememberIdentity(dir: string, id: string): void {
  memo.set(path.resolve(dir), id);
}

/**
 * `sha256:` of each file's name, a NUL and its bytes, in the order given, read in 4 MiB pieces (a 24 GB checkpoint or
 * a 2 GB SAE never sits in memory): the identity of models (here) and of SAEs (core/objectives/sae.ts).
 */
export function hashFiles(files: ReadonlyArray<readonly [name: string, path: string]>): string {
  const hash = createHash('sha256');
  const buf = Buffer.alloc(1 << 22);
  for (const [name, file] of files) {
    hash.update(`${name}\0`);
    const fd = openSync(file, 'r');
    try {
      if (!fstatSync(fd).isFile()) throw new UserError('E_MODEL_MISSING_FILE', `${file}: is a directory (or another non-file), not the model file of that name`);
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

export function modelIdentity(dir: string): string {
  const abs = path.resolve(dir);
  const known = memo.get(abs);
  if (known) return known;
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    throw new UserError('E_MODEL_MISSING_FILE', `${dir}: model directory not found`);
  }
  const id = hashFiles(identityFiles(names).map((f) => [f, path.join(abs, f)]));
  memo.set(abs, id);
  return id;
}
