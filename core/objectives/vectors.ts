// Direction sets for residual objectives: a JSON file mapping layer -> list of vectors, rows of a matrix in a
// .safetensors or .npy file (matrix-file.ts), or seeded random unit vectors (vector i of layer L drawn with
// seed deriveSeed(seed, L, i)).
import { readFileSync } from 'node:fs';
import { canonicalJson } from '../canonical-json.js';
import { UserError } from '../errors.js';
import { deriveSeed, randomUnitVector } from '../rng.js';
import type { ArtifactStore } from '../store/index.js';
import { indexAt } from './indices.js';
import { isMatrixFile, readMatrixRows, type MatrixSource } from './matrix-file.js';

/** layer -> its vectors, each of length dModel. */
export type VectorSet = Map<number, Float32Array[]>;

export function randomVectorSet(layers: number[], count: number, seed: number, dModel: number): VectorSet {
  return new Map(layers.map((L) => [L, Array.from({ length: count }, (_, i) => randomUnitVector(dModel, deriveSeed(seed, L, i)))]));
}

/**
 * A direction is used as float32: one that overflows there (|x| > 3.4e38) or is all zeros (after underflow:
 * 1e-50 is 0 in float32) gives garbage objectives, so it is refused.
 */
function checkDirection(v: Float32Array, where: string): Float32Array {
  const big = v.findIndex((x) => !Number.isFinite(x));
  if (big >= 0 && Number.isNaN(v[big]))
    throw new UserError('E_VECTORS_VALUE', `${where}: entry ${big} is NaN (not a number); the vector is damaged or was computed from a NaN: replace it`);
  if (big >= 0) throw new UserError('E_VECTORS_VALUE', `${where}: entry ${big} does not fit in float32 (|x| > 3.4e38); scale the vector down`);
  if (v.every((x) => x === 0)) throw new UserError('E_VECTORS_VALUE', `${where}: the vector is zero in float32 (entries below ~1e-45 underflow); give a nonzero direction`);
  return v;
}

/**
 * The vectors a file gives: a JSON vectors file, or the chosen rows of a matrix file, which belong to one
 * layer (`source.layer`, cfg.json's, or the study's only layer). `layers` are the study's.
 */
export function readVectorSource(source: MatrixSource, dModel: number, layers: number[]): VectorSet {
  if (!isMatrixFile(source.file)) return readVectorFile(source.file, dModel);
  const { layer, tensor, vectors } = readMatrixRows(source, dModel, layers.length === 1 ? layers[0] : undefined);
  const what = source.file.toLowerCase().endsWith('.npy') ? source.file : `${source.file}: tensor ${tensor}`;
  if (layer === undefined) {
    throw new UserError(
      'E_VECTORS_MATRIX',
      `${what}: which layer's resid_pre do these directions live in? Give \`layer:\` (no cfg.json beside the file names a hook, and the study has ${layers.length} layers)`,
    );
  }
  return new Map([[layer, vectors.map((v, i) => checkDirection(v, `${what}: row ${source.rows === undefined ? i : indexAt(source.rows, i)}`))]]);
}

/** Parses `{"<layer>": [[d floats], ...], ...}`; every vector must have dModel entries. */
export function readVectorFile(file: string, dModel: number): VectorSet {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message;
    throw new UserError('E_VECTORS_FILE', `${file}: cannot read the vectors file: ${why}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UserError('E_VECTORS_FILE', `${file}: expected a JSON object mapping layer -> list of vectors, e.g. {"4": [[0.1, ...]]}`);
  }
  const out: VectorSet = new Map();
  for (const [key, list] of Object.entries(raw)) {
    const layer = Number(key);
    if (!Number.isInteger(layer) || layer < 0) throw new UserError('E_VECTORS_FILE', `${file}: key ${JSON.stringify(key)}: expected a layer number`);
    if (!Array.isArray(list)) throw new UserError('E_VECTORS_FILE', `${file}: layer ${key}: expected a list of vectors`);
    if (list.length === 0) throw new UserError('E_VECTORS_FILE', `${file}: layer ${key}: the list of vectors is empty; give at least one, or drop the layer`);
    out.set(
      layer,
      list.map((v, i) => {
        if (!Array.isArray(v) || v.length !== dModel || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
          throw new UserError(
            'E_VECTORS_FILE',
            `${file}: layer ${key} vector ${i}: expected ${dModel} finite numbers (the model's d_model), got ${Array.isArray(v) ? `${v.length} entries` : typeof v}`,
          );
        }
        return checkDirection(Float32Array.from(v as number[]), `${file}: layer ${key} vector ${i}`);
      }),
    );
  }
  return out;
}

/**
 * A sweep's vector set as stored (`{"<layer>": [[d floats], ...]}`, canonical JSON): the bytes whose hash
 * names it, so equal sets share one key.
 */
export function encodeVectorSet(vectors: VectorSet, layers: number[]): string {
  return canonicalJson(Object.fromEntries(layers.map((L) => [L, vectors.get(L)!.map((v) => Array.from(v))])));
}

/** Why: the one reader of stored vector sets (EPO, random and scan units, the report's attribution). */
export async function loadVectorSet(store: ArtifactStore, key: string): Promise<VectorSet> {
  const bytes = await store.get(key);
  if (!bytes) throw new UserError('E_VECTORS_MISSING', `${store.uri}: the sweep's vector set ${key} is missing; launch the sweep again to store it`);
  let raw: Record<string, number[][]>;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, number[][]>;
  } catch (e) {
    throw new UserError('E_VECTORS_MISSING', `${store.uri}/${key}: not valid JSON (${(e as Error).message}); the vector set is damaged: delete it and launch the sweep again`, {
      cause: e,
    });
  }
  return new Map(Object.entries(raw).map(([L, list]) => [Number(L), list.map((v) => Float32Array.from(v))]));
}
