// An exact sum of float64 values (a fixed-point "superaccumulator"): the result depends only on the multiset
// of values added, never on their order or on how they were split across shards, checkpoints or merges.
// That is what lets merged shard scans equal one scan byte for byte, which a Welford/Chan merge cannot.
//
// The sum is an integer N in units of 2^-1074 (the smallest subnormal), held as signed base-2^32 limbs
// in float64s. Adding a double touches at most 3 limbs; carries are propagated every 2^20 additions,
// before any limb can leave the exactly representable integers (|limb| < 2^53).

const LIMB = 2 ** 32;
/** Bit position (in units of 2^-1074) of limb 0 is 0; limb i holds bits [32i, 32i + 32). */
const N_LIMBS = 72; // covers 2^-1074 .. 2^1230: any finite double and sums far past overflow
const NORMALISE_EVERY = 2 ** 20;
const SCALE_EXP = -1074;

// The double's bits through a typed-array alias (much faster than DataView); the word order follows the
// platform's endianness, checked once.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
f64[0] = 1;
const HI = u32[1] === 0x3ff00000 ? 1 : 0;
const LO = 1 - HI;
const POW2 = Float64Array.from({ length: 32 }, (_, i) => 2 ** i);
const INV_LIMB = 2 ** -32;

/** Why: exact, order-independent sums for means and variances that must merge byte-identically. */
export class ExactSum {
  private readonly limbs = new Float64Array(N_LIMBS);
  private pending = 0;

  /** Adds a finite double exactly. */
  add(x: number): void {
    if (x === 0) return;
    if (!Number.isFinite(x)) throw new Error(`ExactSum.add: expected a finite number, got ${x}`);
    f64[0] = x;
    const hi = u32[HI]!;
    const lo = u32[LO]!;
    const exp = (hi >>> 20) & 0x7ff;
    const frac = hi & 0xfffff;
    // |x| = m * 2^(g - 1074) with m an integer below 2^53.
    const m = (exp === 0 ? frac : frac + 0x100000) * LIMB + lo;
    const g = exp === 0 ? 0 : exp - 1;
    const i = g >>> 5;
    const t = m * POW2[g & 31]!; // exact: < 2^85, 53 significant bits
    // Base-2^32 digits of t; every step is exact (power-of-two scaling, floor, representable differences).
    const t1 = Math.floor(t * INV_LIMB);
    const d0 = t - t1 * LIMB;
    const d2 = Math.floor(t1 * INV_LIMB);
    const d1 = t1 - d2 * LIMB;
    const limbs = this.limbs;
    if (hi >>> 31) {
      limbs[i]! -= d0;
      limbs[i + 1]! -= d1;
      limbs[i + 2]! -= d2;
    } else {
      limbs[i]! += d0;
      limbs[i + 1]! += d1;
      limbs[i + 2]! += d2;
    }
    if (++this.pending >= NORMALISE_EVERY) this.normalise();
  }

  /** Adds another exact sum (exactly). */
  addSum(other: ExactSum): void {
    other.normalise();
    this.normalise();
    for (let i = 0; i < N_LIMBS; i++) this.limbs[i]! += other.limbs[i]!;
    this.pending = 1;
    this.normalise();
  }

  /** The exact value as an integer in units of 2^-1074. */
  scaled(): bigint {
    this.normalise();
    let n = 0n;
    for (let i = N_LIMBS - 1; i >= 0; i--) n = (n << 32n) + BigInt(this.limbs[i]!);
    return n;
  }

  /** The sum as a double (deterministic; within one ulp of the exact value). */
  value(): number {
    return scaledToNumber(this.scaled(), SCALE_EXP);
  }

  /** Canonical text: a hexadecimal float `[-]0x<hex>p<exp>` (exact), or `0`. */
  toString(): string {
    return formatHexFloat(this.scaled(), SCALE_EXP);
  }

  static parse(text: string): ExactSum {
    const { n, exp } = parseHexFloat(text);
    if (exp < SCALE_EXP) throw new Error(`ExactSum.parse: exponent ${exp} below ${SCALE_EXP} in ${JSON.stringify(text)}`);
    let v = n << BigInt(exp - SCALE_EXP);
    const s = new ExactSum();
    const base = 1n << 32n;
    for (let i = 0; i < N_LIMBS - 1; i++) {
      const d = ((v % base) + base) % base;
      s.limbs[i] = Number(d);
      v = (v - d) / base;
    }
    if (v >= 1n << 52n || v <= -(1n << 52n)) throw new Error(`ExactSum.parse: ${JSON.stringify(text)} is out of range`);
    s.limbs[N_LIMBS - 1] = Number(v);
    return s;
  }

  /** Propagates carries so that limbs 0..N-2 lie in [0, 2^32): the representation becomes canonical. */
  private normalise(): void {
    if (this.pending === 0) return;
    const limbs = this.limbs;
    for (let i = 0; i < N_LIMBS - 1; i++) {
      const c = Math.floor(limbs[i]! / LIMB);
      if (c !== 0) {
        limbs[i]! -= c * LIMB;
        limbs[i + 1]! += c;
      }
    }
    this.pending = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Big-integer helpers: exact dyadic values n * 2^exp.

function bitLength(n: bigint): number {
  return n === 0n ? 0 : (n < 0n ? -n : n).toString(2).length;
}

/** x * 2^e without intermediate overflow or underflow of the power of two. */
function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

/** n * 2^exp as a double: deterministic, within one ulp (keeps 64 bits before rounding). */
export function scaledToNumber(n: bigint, exp: number): number {
  const shift = Math.max(0, bitLength(n) - 64);
  const head = n < 0n ? -(-n >> BigInt(shift)) : n >> BigInt(shift);
  return ldexp(Number(head), exp + shift);
}

export function formatHexFloat(n: bigint, exp: number): string {
  if (n === 0n) return '0';
  const neg = n < 0n;
  let m = neg ? -n : n;
  while ((m & 0xffffn) === 0n) {
    m >>= 16n;
    exp += 16;
  }
  while ((m & 1n) === 0n) {
    m >>= 1n;
    exp += 1;
  }
  return `${neg ? '-' : ''}0x${m.toString(16)}p${exp}`;
}

export function parseHexFloat(text: string): { n: bigint; exp: number } {
  if (text === '0') return { n: 0n, exp: SCALE_EXP };
  const match = /^(-?)0x([0-9a-f]+)p(-?\d+)$/.exec(text);
  if (!match) throw new Error(`expected a hexadecimal float like 0x1ap-3, got ${JSON.stringify(text)}`);
  const m = BigInt(`0x${match[2]}`);
  return { n: match[1] ? -m : m, exp: Number(match[3]) };
}
