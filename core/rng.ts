// The one source of randomness: a seeded xoroshiro128+ (pure-rand) whose state is plain numbers, so a
// checkpoint can store it and a resumed run draws exactly what the uninterrupted run would have.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

type Generator = ReturnType<typeof xoroshiro128plus>;

export class Rng {
  private constructor(private readonly gen: Generator) {}

  static seeded(seed: number): Rng {
    if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    // pure-rand seeds from 32 bits; fold larger seeds in so that distinct seeds stay distinct.
    return new Rng(xoroshiro128plus((seed ^ Math.floor(seed / 2 ** 32)) | 0));
  }

  static fromState(state: readonly number[]): Rng {
    return new Rng(xoroshiro128plusFromState(state));
  }

  /** Serialisable state: `Rng.fromState(r.state())` continues exactly where `r` is. */
  state(): number[] {
    return [...this.gen.getState()];
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return uniformInt(this.gen, 0, n - 1);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Standard normal (Box-Muller), for random directions. */
  normal(): number {
    const u = 1 - this.float(); // (0, 1]: log stays finite
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** A unit vector of dimension d drawn from a seeded isotropic Gaussian (a "random direction"). */
export function randomUnitVector(d: number, seed: number): Float32Array {
  const rng = Rng.seeded(seed);
  const v = new Float64Array(d);
  let norm = 0;
  for (let i = 0; i < d; i++) {
    v[i] = rng.normal();
    norm += v[i]! * v[i]!;
  }
  norm = Math.sqrt(norm);
  return Float32Array.from(v, (x) => x / norm);
}

/** A seed for item `parts` of a family seeded by `seed` (e.g. vector i of layer L): distinct, stable, 31-bit. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  // FNV-1a over the decimal text: stable across platforms, and different parts never collide by arithmetic.
  let h = 0x811c9dc5;
  for (const ch of [seed, ...parts].join('/')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}
