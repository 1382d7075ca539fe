// Shared by the model tests: fixture paths, golden files, and a scale-aware closeness check.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Engine, Objective } from '../../../core/engine.js';
import { epo } from '../../../core/epo/epo.js';

// DREAMSWEEP_FIXTURES: where scripts/gpu-check.sh carries the fixtures beside its bundled benches.
const FIXTURES = process.env['DREAMSWEEP_FIXTURES'] || join(import.meta.dirname, '../../fixtures');
export const MODELS = join(FIXTURES, 'models');
export const GOLDEN = join(FIXTURES, 'golden');
export const SAES = join(FIXTURES, 'saes');
export const FIXTURE_NAMES = [
  'tiny-parallel',
  'tiny-serial-rope1',
  'tiny-fp16',
  'tiny-sharded-bf16',
  'tiny-gpt2',
  'tiny-llama3',
  'tiny-llama3-tied-bf16',
  'tiny-qwen2-bf16',
  'tiny-qwen3',
  'tiny-mistral-f16',
  'tiny-gemma2',
  'tiny-gemma2-bf16',
  'tiny-gemma3',
  'tiny-gemma3-bf16',
];

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
  /** ids: without special tokens; ids_special: with the tokenizer's post-processing (newer goldens). */
  texts: Array<{ text: string; ids: number[]; ids_special?: number[] }>;
  /** The registry key (families/index.ts); goldens written before the other families lack it. */
  family?: string;
  /** The BOS the tokenizer's post-processor adds, or null (newer goldens). */
  bos?: number | null;
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

/**
 * EPO for 10 small iterations on `engine` and on `wasm` must make the same choices (candidates and selection),
 * with f and CE within 1e-4: its choices depend only on comparisons, so last-bit differences leave them alone.
 */
export async function expectSameEpoChoices(engine: Engine, wasm: Engine, objective: Objective): Promise<void> {
  const config = { iters: 10, population: 4, children: 8, topk: 32, seed: 3 }; // small: the cpu backend is slow
  const [got, ref] = await Promise.all([epo(engine, objective, config), epo(wasm, objective, config)]);
  expect(got.history.iterations).toHaveLength(10);
  got.history.iterations.forEach((it, i) => {
    const want = ref.history.iterations[i]!;
    expect(Array.from(it.ids), `iteration ${i} candidates`).toEqual(Array.from(want.ids));
    expect(Array.from(it.keep), `iteration ${i} selection`).toEqual(Array.from(want.keep));
    expect(scaledMaxDiff(it.f, want.f)).toBeLessThan(1e-4);
    expect(scaledMaxDiff(it.ce, want.ce)).toBeLessThan(1e-4);
  });
}

/** An SAE golden (test/fixtures/golden/sae-*.json): the library's own encode of the tap on the model's golden prompts. */
export interface SaeGolden {
  /** The golden's file name. */
  file: string;
  /** The fixture under test/fixtures/saes. */
  sae: string;
  model: string;
  /** The tap it reads (the Gemma Scope golden says `hook`). */
  tap?: string;
  hook?: string;
  prompts: number[][];
  /** The tap at the last token [B, d_in], the pre-activations and activations [B, d_sae]. */
  x: number[][];
  pre: number[][];
  acts: number[][];
}

/** Every SAE golden, in file order. */
export function readSaeGoldens(): SaeGolden[] {
  return readdirSync(GOLDEN)
    .filter((f) => /^sae-.*\.json$/.test(f))
    .map((f) => ({ ...(JSON.parse(readFileSync(join(GOLDEN, f), 'utf8')) as Omit<SaeGolden, 'file'>), file: f }));
}

/** The SAE a golden describes: its fixture directory, or the one .npz in it. */
export function saePath(name: string): string {
  const dir = join(SAES, name);
  return existsSync(join(dir, 'params.npz')) ? join(dir, 'params.npz') : dir;
}
