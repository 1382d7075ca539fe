// Typed arrays to and from safetensors bytes (8-byte header length, JSON header padded to 8 bytes, raw
// little-endian data), for the files dreamsweep writes itself: EPO histories and checkpoints. Python reads
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

/** Bytes of a safetensors file; tensors laid out in name order, so equal inputs give equal bytes. */
export function encodeTensors(tensors: Record<string, ArrayTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] holds ${count} values, data has ${t.data.length}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/** Inverse of encodeTensors; `source` names the file in errors. */
export function decodeTensors(bytes: Uint8Array, source: string): { tensors: Record<string, ArrayTensor>; metadata: Record<string, string> } {
  const bad = (why: string) => new UserError('E_TENSOR_FILE', `${source}: not a readable safetensors file: ${why}`);
  if (bytes.length < 8) throw bad('shorter than its 8-byte header length');
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + headerLen > bytes.length) throw bad(`header of ${headerLen} bytes runs past the end (${bytes.length} bytes): truncated?`);
  let header: Record<string, { dtype: ArrayDtype; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8'));
  } catch (e) {
    throw bad(`header is not JSON (${(e as Error).message})`);
  }
  const base = 8 + headerLen;
  const tensors: Record<string, ArrayTensor> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets } = entry as { dtype: ArrayDtype; shape: number[]; data_offsets: [number, number] };
    const ctor = CTOR[dtype];
    if (!ctor) throw bad(`tensor ${name} has dtype ${dtype}; expected one of ${Object.keys(CTOR).join(', ')}`);
    const [begin, end] = data_offsets;
    if (base + end > bytes.length) throw bad(`tensor ${name} runs past the end of the file: truncated?`);
    // Copy out: the bytes may be unaligned for the element size (and a Buffer's slice() is only a view).
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(base + begin, base + end));
    tensors[name] = { dtype, shape, data: new ctor(copy.buffer, 0, (end - begin) / ctor.BYTES_PER_ELEMENT) } as ArrayTensor;
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string>) ?? {} };
}
