// The safetensors format (8-byte header length, JSON header padded to 8 bytes, raw little-endian data):
// its one writer and header reader, used for model checkpoints (core/model/safetensors.ts converts F16/BF16)
// and for the files dreamsweep writes itself, EPO histories and checkpoints, as typed arrays. Python reads
// them with `safetensors.numpy.load_file`; string metadata rides in the header's `__metadata__`.
import { UserError } from './errors.js';

export type ArrayDtype = 'I32' | 'U8' | 'F32' | 'F64';
type ArrayOf<D extends ArrayDtype> = D extends 'I32' ? Int32Array : D extends 'U8' ? Uint8Array : D extends 'F32' ? Float32Array : Float64Array;

export interface ArrayTensor<D extends ArrayDtype = ArrayDtype> {
  dtype: D;
  shape: number[];
  data: ArrayOf<D>;
}

const CTOR = { I32: Int32Array, U8: Uint8Array, F32: Float32Array, F64: Float64Array } as const;

/** A tensor's raw little-endian bytes under a safetensors dtype name (F32, F16, BF16, I32, U8, F64...). */
export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/**
 * The one safetensors writer (model checkpoints and dreamsweep's own files): tensors in name order, the
 * JSON header padded with spaces to a multiple of 8 bytes as the reference writer does, so equal inputs
 * give equal bytes.
 */
export function safetensorsBytes(tensors: Iterable<[string, RawTensor]>, metadata: Record<string, string>): Uint8Array {
  const entries = [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    out.set(t.bytes, at);
    at += t.bytes.byteLength;
  }
  return out;
}

/**
 * The one safetensors header reader: the 8-byte length, then the JSON header. `read(offset, length)` gives
 * bytes of the file (a buffer in memory, or a file descriptor for large checkpoints); `fail` words errors.
 */
export function readSafetensorsHeader(
  size: number,
  read: (offset: number, length: number) => Uint8Array,
  fail: (why: string) => Error,
): { entries: Array<[string, HeaderEntry]>; metadata: Record<string, string>; dataStart: number } {
  if (size < 8) throw fail(`no 8-byte header length (${size} bytes)`);
  const len = read(0, 8);
  const headerLen = Number(new DataView(len.buffer, len.byteOffset, 8).getBigUint64(0, true));
  if (headerLen <= 0 || 8 + headerLen > size) throw fail(`header of ${headerLen} bytes runs past the end (${size} bytes): truncated?`);
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(read(8, headerLen)).toString('utf8')) as typeof header;
  } catch (e) {
    throw fail(`header is not JSON (${(e as Error).message})`);
  }
  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__') as Array<[string, HeaderEntry]>;
  return { entries, metadata: (header.__metadata__ as Record<string, string>) ?? {}, dataStart: 8 + headerLen };
}

/** Bytes of a safetensors file; tensors laid out in name order, so equal inputs give equal bytes. */
export function encodeTensors(tensors: Record<string, ArrayTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const raw: Array<[string, RawTensor]> = Object.entries(tensors).map(([name, t]) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] holds ${count} values, data has ${t.data.length}`);
    return [name, { dtype: t.dtype, shape: t.shape, bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) }];
  });
  return safetensorsBytes(raw, metadata);
}

/** Inverse of encodeTensors; `source` names the file in errors. */
export function decodeTensors(bytes: Uint8Array, source: string): { tensors: Record<string, ArrayTensor>; metadata: Record<string, string> } {
  const bad = (why: string) => new UserError('E_TENSOR_FILE', `${source}: not a readable safetensors file: ${why}`);
  const { entries, metadata, dataStart: base } = readSafetensorsHeader(bytes.length, (at, n) => bytes.subarray(at, at + n), bad);
  const tensors: Record<string, ArrayTensor> = {};
  for (const [name, entry] of entries) {
    const { shape, data_offsets } = entry;
    const dtype = entry.dtype as ArrayDtype;
    const ctor = CTOR[dtype];
    if (!ctor) throw bad(`tensor ${name} has dtype ${dtype}; expected one of ${Object.keys(CTOR).join(', ')}`);
    const [begin, end] = data_offsets;
    if (base + end > bytes.length) throw bad(`tensor ${name} runs past the end of the file: truncated?`);
    // Copy out: the bytes may be unaligned for the element size (and a Buffer's slice() is only a view).
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(base + begin, base + end));
    tensors[name] = { dtype, shape, data: new ctor(copy.buffer, 0, (end - begin) / ctor.BYTES_PER_ELEMENT) } as ArrayTensor;
  }
  return { tensors, metadata };
}
