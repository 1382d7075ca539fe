// The torch engine's framed stdio protocol (the Python side is engines/torch/dreamsweep_torch/wire.py): a frame
// is a 4-byte little-endian header length, a UTF-8 JSON header, then the raw little-endian bytes of the arrays
// the header lists under `arrays` ([{name, dtype, shape}], in order).

export type WireDtype = 'f32' | 'f64' | 'i32' | 'u8';
export type WireArray = Float32Array | Float64Array | Int32Array | Uint8Array;
const BYTES: Record<WireDtype, number> = { f32: 4, f64: 8, i32: 4, u8: 1 };

export interface Frame {
  header: Record<string, unknown>;
  arrays: Map<string, { dtype: WireDtype; shape: number[]; data: WireArray }>;
}

interface ArraySpec {
  name: string;
  dtype: WireDtype;
  shape: number[];
}

function dtypeOf(a: WireArray): WireDtype {
  return a instanceof Float32Array ? 'f32' : a instanceof Float64Array ? 'f64' : a instanceof Int32Array ? 'i32' : 'u8';
}

/** One frame's bytes: header fields plus named arrays with their shapes. */
export function encodeFrame(header: Record<string, unknown>, arrays: Array<[string, WireArray, number[]]> = []): Buffer {
  const specs: ArraySpec[] = arrays.map(([name, data, shape]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`encodeFrame: ${name} has ${data.length} values, shape [${shape}]`);
    return { name, dtype: dtypeOf(data), shape };
  });
  const json = Buffer.from(JSON.stringify({ ...header, arrays: specs }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  return Buffer.concat([len, json, ...arrays.map(([, d]) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))]);
}

/** Collects stdout chunks and yields each complete frame (chunks are joined once a frame is whole). */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private need: { headerLen: number; header?: Record<string, unknown>; specs?: ArraySpec[]; total: number } | undefined;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.have += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      const frame = this.next();
      if (!frame) return out;
      out.push(frame);
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.have);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.have -= n;
    return all.subarray(0, n);
  }

  private next(): Frame | undefined {
    if (!this.need) {
      if (this.have < 4) return undefined;
      this.need = { headerLen: this.take(4).readUInt32LE(0), total: 0 };
    }
    if (!this.need.header) {
      if (this.have < this.need.headerLen) return undefined;
      const header = JSON.parse(this.take(this.need.headerLen).toString('utf8')) as Record<string, unknown>;
      const specs = (header['arrays'] as ArraySpec[] | undefined) ?? [];
      delete header['arrays'];
      this.need.header = header;
      this.need.specs = specs;
      this.need.total = specs.reduce((s, a) => s + a.shape.reduce((x, y) => x * y, 1) * BYTES[a.dtype], 0);
    }
    if (this.have < this.need.total) return undefined;
    const body = this.take(this.need.total);
    const arrays: Frame['arrays'] = new Map();
    let off = 0;
    for (const a of this.need.specs!) {
      const len = a.shape.reduce((x, y) => x * y, 1) * BYTES[a.dtype];
      const bytes = body.buffer.slice(body.byteOffset + off, body.byteOffset + off + len); // a copy, aligned
      const data = a.dtype === 'f32' ? new Float32Array(bytes) : a.dtype === 'f64' ? new Float64Array(bytes) : a.dtype === 'i32' ? new Int32Array(bytes) : new Uint8Array(bytes);
      arrays.set(a.name, { dtype: a.dtype, shape: a.shape, data });
      off += len;
    }
    const frame = { header: this.need.header, arrays };
    this.need = undefined;
    return frame;
  }
}
