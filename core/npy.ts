// A reader of NumPy's .npy format (a magic string, a Python-literal header, raw data), for direction
// matrices researchers save with `np.save`. Only what directions need: little-endian float16/32/64 in C order.
import { UserError } from './errors.js';
import { f16ToF32 } from './model/safetensors.js';

export interface NpyArray {
  /** The dtype as the header gives it: <f2, <f4 or <f8. */
  descr: string;
  shape: number[];
  /** The values, as float32 (what objectives compute with). */
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DTYPES: Record<string, number> = { '<f2': 2, '<f4': 4, '<f8': 8 };

/** Parses .npy bytes; `source` names the file in errors. */
export function decodeNpy(bytes: Uint8Array, source: string): NpyArray {
  const bad = (why: string, fix = 're-save it with numpy.save(path, array.astype("float32"))') => new UserError('E_NPY_FILE', `${source}: ${why}; ${fix}`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw bad(`.npy format version ${major} is not supported (1, 2 or 3 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes + headerLen;
  if (start > bytes.length) throw bad(`the header (${headerLen} bytes) runs past the end of the file: truncated?`);
  const header = Buffer.from(bytes.subarray(8 + lenBytes, start)).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(`the header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  const size = DTYPES[descr === '=f4' ? '<f4' : descr];
  if (size === undefined) {
    throw bad(`dtype ${descr} is not supported (little-endian float16, float32 or float64 are)`, 'convert it with array.astype("<f4") and save it again');
  }
  if (fortran === 'True') throw bad('the array is in Fortran (column-major) order', 'save numpy.ascontiguousarray(array) instead');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (!shape.every((n) => Number.isSafeInteger(n) && n >= 0)) throw bad(`shape (${shapeText}) is not a tuple of sizes`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - start < count * size) throw bad(`shape (${shape.join(', ')}) of ${descr} needs ${count * size} data bytes, the file has ${bytes.length - start}: truncated?`);
  // Copy out: the data may be unaligned for the element size.
  const raw = new Uint8Array(count * size);
  raw.set(bytes.subarray(start, start + count * size));
  const data = new Float32Array(count);
  if (size === 4) data.set(new Float32Array(raw.buffer, 0, count));
  else if (size === 8) data.set(new Float64Array(raw.buffer, 0, count));
  else {
    const halves = new Uint16Array(raw.buffer, 0, count);
    for (let i = 0; i < count; i++) data[i] = f16ToF32(halves[i]!);
  }
  return { descr: size === 4 ? '<f4' : descr, shape, data };
}
