// Directions from a matrix researchers already have: sparse-autoencoder decoder rows (`W_dec`, [d_sae,
// d_model]), linear-probe weights, or any [count, d_model] matrix, in a .safetensors or .npy file, rows
// chosen by an index set. The layer comes from the caller or from a SAELens-style `cfg.json` beside the file
// (`hook_name: blocks.<L>.hook_resid_pre`, `hook_layer`); a hook on another site or layer is refused.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { f16ToF32 } from '../model/safetensors.js';
import { decodeNpy } from '../npy.js';
import { readSafetensorsHeader } from '../tensor-file.js';
import { expandIndices, formatIndices, type IndexSet } from './indices.js';

/** A matrix of directions as a sweep file or a CLI objective names it. */
export interface MatrixSource {
  file: string;
  /** The tensor of a .safetensors file; absent: W_dec, else the file's only 2-D tensor. */
  tensor?: string;
  /** Rows to use; absent: all. */
  rows?: IndexSet;
  /** resid_pre.<layer> the directions live in; absent: from cfg.json, else the caller's default. */
  layer?: number;
}

export const MATRIX_EXTENSIONS = ['.safetensors', '.npy'] as const;

export function isMatrixFile(file: string): boolean {
  return MATRIX_EXTENSIONS.some((ext) => file.toLowerCase().endsWith(ext));
}

const err = (message: string) => new UserError('E_VECTORS_MATRIX', message);

function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message;
    throw new UserError('E_VECTORS_FILE', `${file}: cannot read the vectors file: ${why}`);
  }
}

const FLOAT_BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };

/** One tensor of a safetensors file as float32, with its name (reads only that tensor's bytes). */
function readSafetensorsMatrix(file: string, wanted: string | undefined): { name: string; shape: number[]; data: Float32Array } {
  const bytes = readBytes(file);
  const bad = (why: string) => new UserError('E_TENSOR_FILE', `${file}: not a readable safetensors file: ${why}`);
  const { entries, dataStart } = readSafetensorsHeader(bytes.length, (at, n) => bytes.subarray(at, at + n), bad);
  const names = entries.map(([n]) => n);
  const list = names.length ? names.map((n) => `${n} [${entries.find(([m]) => m === n)![1].shape.join(', ')}]`).join(', ') : 'none';
  let name = wanted;
  if (name === undefined) {
    const twoD = entries.filter(([, e]) => e.shape.length === 2).map(([n]) => n);
    name = names.includes('W_dec') ? 'W_dec' : twoD.length === 1 ? twoD[0] : undefined;
    if (name === undefined) throw err(`${file}: no tensor W_dec and ${twoD.length} 2-D tensors; name one with \`tensor:\` (the file has ${list})`);
  }
  const entry = entries.find(([n]) => n === name)?.[1];
  if (!entry) throw err(`${file}: no tensor ${JSON.stringify(name)}; the file has ${list}`);
  const size = FLOAT_BYTES[entry.dtype];
  if (size === undefined) throw err(`${file}: tensor ${name} has dtype ${entry.dtype}; directions must be F32, F64, F16 or BF16`);
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const [begin, end] = entry.data_offsets;
  if (end - begin !== count * size || dataStart + end > bytes.length)
    throw bad(`tensor ${name} [${entry.shape.join(', ')}] of ${entry.dtype} does not fit its ${end - begin} bytes, or runs past the end: truncated?`);
  const raw = new Uint8Array(end - begin); // a copy: aligned for the element size (a Buffer's slice() is a view)
  raw.set(bytes.subarray(dataStart + begin, dataStart + end));
  const data = new Float32Array(count);
  if (entry.dtype === 'F32') data.set(new Float32Array(raw.buffer, 0, count));
  else if (entry.dtype === 'F64') data.set(new Float64Array(raw.buffer, 0, count));
  else {
    const halves = new Uint16Array(raw.buffer, 0, count);
    const bf16 = entry.dtype === 'BF16';
    const u32 = new Uint32Array(data.buffer);
    for (let i = 0; i < count; i++) {
      if (bf16) u32[i] = halves[i]! << 16;
      else data[i] = f16ToF32(halves[i]!);
    }
  }
  return { name, shape: entry.shape, data };
}

/** The layer a SAELens-style cfg.json beside `file` names, if there is one; a non-resid_pre hook is refused. */
export function cfgLayer(file: string): number | undefined {
  const cfgFile = path.join(path.dirname(file), 'cfg.json');
  if (!existsSync(cfgFile)) return undefined;
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw err(`${cfgFile} (beside ${file}): not valid JSON (${(e as Error).message}); fix it, or move it away to give the layer yourself`);
  }
  if (typeof cfg !== 'object' || cfg === null) return undefined;
  let layer: number | undefined;
  const hook = cfg.hook_name;
  if (typeof hook === 'string') {
    const m = /^blocks\.(\d+)\.hook_([a-z_]+)$/.exec(hook);
    if (!m) throw err(`${cfgFile}: hook_name ${JSON.stringify(hook)} is not blocks.<layer>.hook_resid_pre; dreamsweep's residual directions live in resid_pre`);
    if (m[2] !== 'resid_pre') {
      throw err(
        `${cfgFile}: hook_name ${hook} reads ${m[2]}, not resid_pre; dreamsweep's residual directions live in resid_pre.<layer> (resid_post.L is resid_pre.L+1: use an SAE trained on resid_pre)`,
      );
    }
    layer = Number(m[1]);
  }
  const hookLayer = cfg.hook_layer;
  if (typeof hookLayer === 'number') {
    if (layer !== undefined && hookLayer !== layer) throw err(`${cfgFile}: hook_layer ${hookLayer} disagrees with hook_name ${String(hook)}; fix the cfg.json`);
    layer = hookLayer;
  }
  return layer;
}

/**
 * The chosen rows of the matrix, as float32 vectors of length dModel, and the layer they belong to:
 * `source.layer`, else cfg.json's, else `fallback`; an explicit layer that cfg.json contradicts is refused.
 */
export function readMatrixRows(source: MatrixSource, dModel: number, fallback?: number): { layer: number | undefined; tensor: string; vectors: Float32Array[] } {
  const { file } = source;
  const npy = file.toLowerCase().endsWith('.npy');
  if (npy && source.tensor !== undefined) throw err(`${file}: a .npy file holds one array; remove \`tensor: ${source.tensor}\``);
  const m = npy ? { name: 'array', ...decodeNpy(readBytes(file), file) } : readSafetensorsMatrix(file, source.tensor);
  const what = npy ? file : `${file}: tensor ${m.name}`;
  const shape = m.shape.length === 1 ? [1, m.shape[0]!] : m.shape;
  if (shape.length !== 2 || shape[1] !== dModel) {
    const transposed = shape.length === 2 && shape[0] === dModel ? `; it looks transposed: save its transpose (.T) as [count, ${dModel}]` : '';
    throw err(`${what}: shape [${m.shape.join(', ')}] is not [count, d_model = ${dModel}] (one direction per row)${transposed}`);
  }
  const count = shape[0]!;
  const rows = source.rows === undefined ? Array.from({ length: count }, (_, i) => i) : expandIndices(source.rows);
  const out = rows.map((r) => {
    if (r >= count) throw err(`${what}: rows ${formatIndices(source.rows!)} include ${r}, but the matrix has ${count} rows (0..${count - 1})`);
    return m.data.slice(r * dModel, (r + 1) * dModel);
  });
  const fromCfg = cfgLayer(file);
  if (source.layer !== undefined && fromCfg !== undefined && source.layer !== fromCfg) {
    throw err(
      `${what}: layer ${source.layer} was asked for, but ${path.join(path.dirname(file), 'cfg.json')} says the directions are in resid_pre.${fromCfg}; use layer ${fromCfg}`,
    );
  }
  return { layer: source.layer ?? fromCfg ?? fallback, tensor: m.name, vectors: out };
}
