// Shared by the model tests: fixture paths, golden files, and a scale-aware closeness check.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Objective } from '../../../core/engine.js';

// DREAMSWEEP_FIXTURES: where scripts/gpu-check.sh carries the fixtures beside its bundled benches.
const FIXTURES = process.env['DREAMSWEEP_FIXTURES'] || join(import.meta.dirname, '../../fixtures');
export const MODELS = join(FIXTURES, 'models');
export const GOLDEN = join(FIXTURES, 'golden');
export const FIXTURE_NAMES = ['tiny-parallel', 'tiny-serial-rope1', 'tiny-fp16', 'tiny-sharded-bf16'];

export interface GoldenObjective {
  objective: { kind: 'resid'; layer: number; vector: number[] } | { kind: 'neuron'; layer: number; index: number } | { kind: 'logit'; token: number };
  f: number[];
  ce: number[];
  /** The gradient of f - lambda*CE w.r.t. the one-hot, through the embeddings and CE's one-hot targets. */
  grads: number[][][];
  /** The same through the embeddings alone (CE's targets held constant). */
  grads_embed: number[][][];
}

export interface Golden {
  prompts: number[][];
  logits_last: number[][];
  ce: number[];
  /** Next-token CE at positions 1..n-1, per prompt. */
  ce_positions: number[][];
  taps: Record<string, number[][]>;
  lambdas: number[];
  objectives: GoldenObjective[];
  texts: Array<{ text: string; ids: number[] }>;
}

export function readGolden(name: string): Golden {
  return JSON.parse(readFileSync(join(GOLDEN, `${name}.json`), 'utf8')) as Golden;
}

export function toObjective(o: GoldenObjective['objective']): Objective {
  return o.kind === 'resid' ? { ...o, vector: Float32Array.from(o.vector) } : o;
}

/**
 * Largest |actual - expected| relative to max(1, max |expected|): 1e-4 means "within 1e-4 absolute for values of
 * order 1, within 1e-4 of the scale for larger ones".
 */
export function scaledMaxDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs expected ${expected.length}`);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / scale);
  return worst;
}

export const flat = (x: number[] | number[][] | number[][][]): number[] => (x as number[]).flat(2) as number[];
