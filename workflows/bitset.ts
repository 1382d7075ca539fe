// A set of unit indices as bits, carried in workflow state and across continue-as-new as base64 text: a
// million units take 125 KB (167 KB as text), whatever is done. Plain code, no imports: it runs in the
// workflow sandbox (no Buffer there) as well as in activities.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export class Bitset {
  readonly bytes: Uint8Array;
  private count = 0;

  constructor(
    readonly size: number,
    bytes?: Uint8Array,
  ) {
    this.bytes = bytes ?? new Uint8Array(Math.ceil(size / 8));
    if (bytes) for (const b of bytes) this.count += popcount(b);
  }

  has(i: number): boolean {
    return (this.bytes[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  add(i: number): void {
    if (this.has(i)) return;
    this.bytes[i >> 3]! |= 1 << (i & 7);
    this.count++;
  }

  /** Members in [from, to). */
  countIn(from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) if (this.has(i)) n++;
    return n;
  }

  get cardinality(): number {
    return this.count;
  }

  toBase64(): string {
    return encodeBase64(this.bytes);
  }

  static fromBase64(size: number, text: string): Bitset {
    const bytes = decodeBase64(text);
    if (bytes.length !== Math.ceil(size / 8)) throw new Error(`bitset of ${size} bits: expected ${Math.ceil(size / 8)} bytes, got ${bytes.length}`);
    return new Bitset(size, bytes);
  }
}

function popcount(b: number): number {
  let n = 0;
  for (; b; b &= b - 1) n++;
  return n;
}

export function encodeBase64(bytes: Uint8Array): string {
  const out: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    chunk += ALPHABET[a >> 2]! + ALPHABET[((a & 3) << 4) | (b >> 4)]!;
    chunk += i + 1 < bytes.length ? ALPHABET[((b & 15) << 2) | (c >> 6)]! : '=';
    chunk += i + 2 < bytes.length ? ALPHABET[c & 63]! : '=';
    if (chunk.length >= 4096) {
      out.push(chunk);
      chunk = '';
    }
  }
  out.push(chunk);
  return out.join('');
}

export function decodeBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let at = 0;
  for (let i = 0; i < clean.length; i += 4) {
    const v = [0, 1, 2, 3].map((j) => (i + j < clean.length ? ALPHABET.indexOf(clean[i + j]!) : 0));
    if (v.some((x) => x < 0)) throw new Error('bitset: not base64');
    const n = (v[0]! << 18) | (v[1]! << 12) | (v[2]! << 6) | v[3]!;
    if (at < out.length) out[at++] = (n >> 16) & 255;
    if (at < out.length) out[at++] = (n >> 8) & 255;
    if (at < out.length) out[at++] = n & 255;
  }
  return out;
}
