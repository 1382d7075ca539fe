// Model checkpoints in safetensors (the Hugging Face format, its container in core/tensor-file.ts: 8-byte header length, JSON
// header `{name: {dtype, shape, data_offsets}}`, then raw little-endian bytes). F32/F16/BF16 read as float32.
import { closeSync, openSync, readSync, fstatSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserError } from '../errors.js';
import { readSafetensorsHeader, safetensorsBytes, type RawTensor } from '../tensor-file.js';

export type Dtype = 'F32' | 'F16' | 'BF16';
const BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** One tensor as float32, with the shape and dtype it had on disk. */
export interface FloatTensor {
  shape: number[];
  data: Float32Array;
  dtype: Dtype;
}

/** Tensors whose byte ranges overlap would silently share weights: the file is corrupt, refuse it. */
function checkDisjoint(path: string, header: Record<string, unknown>): void {
  const ranges = Object.entries(header)
    .filter(([key]) => key !== '__metadata__')
    .map(([key, e]) => ({ key, offsets: (e as { data_offsets?: unknown }).data_offsets }));
  for (const { key, offsets } of ranges) {
    const ok = Array.isArray(offsets) && offsets.length === 2 && offsets.every((x) => Number.isSafeInteger(x) && x >= 0) && offsets[0] <= offsets[1];
    if (!ok)
      throw new UserError(
        'E_MODEL_TRUNCATED',
        `${path}: tensor ${key}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end; not a valid safetensors file`,
      );
  }
  const sorted = (ranges as Array<{ key: string; offsets: [number, number] }>).filter((r) => r.offsets[1] > r.offsets[0]).sort((a, b) => a.offsets[0] - b.offsets[0]);
  for (let i = 1; i < sorted.length; i++) {
    const [prev, cur] = [sorted[i - 1]!, sorted[i]!];
    if (cur.offsets[0] < prev.offsets[1]) {
      throw new UserError(
        'E_MODEL_CORRUPT',
        `${path}: tensors ${prev.key} [${prev.offsets}] and ${cur.key} [${cur.offsets}] overlap in the data section; the file is corrupt (re-export it with safetensors)`,
      );
    }
  }
}

/** Reads every tensor of one `.safetensors` file as float32, checking offsets against the file's size. */
export function readSafetensors(path: string): Map<string, FloatTensor> {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const truncated = (what: string) => new UserError('E_MODEL_TRUNCATED', `${path}: ${what}; the file is truncated or not a safetensors file (${size} bytes)`);
    const read = (offset: number, length: number) => {
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, offset);
      return buf;
    };
    const { entries, dataStart } = readSafetensorsHeader(size, read, truncated);
    checkDisjoint(path, Object.fromEntries(entries));
    const out = new Map<string, FloatTensor>();
    for (const [key, entry] of entries) {
      const {
        dtype,
        shape,
        data_offsets: [begin, end],
      } = entry;
      if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') {
        throw new UserError('E_MODEL_DTYPE', `${path}: tensor ${key}: dtype ${dtype} is not supported; expected F32, F16 or BF16 (convert the checkpoint with torch)`);
      }
      const count = shape.reduce((a, b) => a * b, 1);
      if (end - begin !== count * BYTES[dtype]) {
        throw new UserError('E_MODEL_SHAPE', `${path}: tensor ${key}: shape [${shape}] of ${dtype} needs ${count * BYTES[dtype]} bytes, header gives ${end - begin}`);
      }
      if (dataStart + end > size) throw truncated(`tensor ${key} ends at byte ${dataStart + end}`);
      const bytes = Buffer.alloc(end - begin);
      readSync(fd, bytes, 0, end - begin, dataStart + begin);
      out.set(key, { shape, dtype, data: toFloat32(bytes, dtype, count) });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Reads a checkpoint's weights: `model.safetensors`, or the shards listed in `model.safetensors.index.json`. */
export function readSafetensorsDir(dir: string): { tensors: Map<string, FloatTensor>; files: Map<string, string> } {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const files = new Map<string, string>(); // tensor name -> file it came from (for error messages)
  const tensors = new Map<string, FloatTensor>();
  if (existsSync(index)) {
    let weightMap: Record<string, string>;
    try {
      weightMap = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    } catch (e) {
      throw new UserError('E_MODEL_INDEX', `${index}: not valid JSON with a weight_map`, { cause: e });
    }
    if (typeof weightMap !== 'object' || weightMap === null) {
      throw new UserError('E_MODEL_INDEX', `${index}: weight_map: expected an object of tensor name -> shard file`);
    }
    for (const shard of new Set(Object.values(weightMap))) {
      const path = join(dir, shard);
      if (!existsSync(path)) {
        throw new UserError('E_MODEL_MISSING_FILE', `${path}: shard listed in ${basename(index)} is missing`);
      }
      for (const [k, t] of readSafetensors(path)) {
        tensors.set(k, t);
        files.set(k, path);
      }
    }
    for (const [k, shard] of Object.entries(weightMap)) {
      if (!tensors.has(k)) {
        throw new UserError('E_MODEL_INDEX', `${index}: tensor ${k} is listed in ${shard} but that shard lacks it`);
      }
    }
    return { tensors, files };
  }
  if (!existsSync(single)) {
    throw new UserError(
      'E_MODEL_MISSING_FILE',
      `${single}: no weights found (expected model.safetensors or model.safetensors.index.json in ${dir}); ` + 'PyTorch .bin checkpoints must be converted to safetensors first',
    );
  }
  for (const [k, t] of readSafetensors(single)) {
    tensors.set(k, t);
    files.set(k, single);
  }
  return { tensors, files };
}

function toFloat32(bytes: Buffer, dtype: Dtype, count: number): Float32Array {
  if (dtype === 'F32') {
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(bytes); // copy: Buffer slices may be unaligned
    return out;
  }
  const halves = new Uint16Array(count);
  new Uint8Array(halves.buffer).set(bytes);
  const out = new Float32Array(count);
  if (dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) u32[i] = halves[i]! << 16;
  } else {
    for (let i = 0; i < count; i++) out[i] = f16ToF32(halves[i]!);
  }
  return out;
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE half, round to nearest even (what torch's `.half()` does). */
export function f32ToF16(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++; // may carry into the exponent: still correct
  return sign | r;
}

/** float32 -> bfloat16, round to nearest even (what torch's `.bfloat16()` does). */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** A tensor to write: float32 values, stored on disk as `dtype`. */
export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
  dtype: Dtype;
}

/** Writes a `.safetensors` file (tensors in name order, header padded to 8 bytes as the reference writer does). */
export function writeSafetensors(path: string, tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata: Record<string, string> = { format: 'pt' }): void {
  const raw = (tensors instanceof Map ? [...tensors] : Object.entries(tensors)).map(([name, t]): [string, RawTensor] => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(`writeSafetensors: ${name}: shape [${t.shape}] has ${count} values, data has ${t.data.length}`);
    }
    return [name, { dtype: t.dtype, shape: t.shape, bytes: fromFloat32(t.data, t.dtype) }];
  });
  writeFileSync(path, safetensorsBytes(raw, metadata));
}

function fromFloat32(data: Float32Array, dtype: Dtype): Buffer {
  if (dtype === 'F32') return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
  const halves = new Uint16Array(data.length);
  const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
  for (let i = 0; i < data.length; i++) halves[i] = conv(data[i]!);
  return Buffer.from(halves.buffer);
}
