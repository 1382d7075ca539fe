// What a model's weights take: its parameters as stored (config.json, through its family's tensor list), the bytes
// a tfjs engine holds for them, and the wasm heap they must fit in. One home for the rule: `sweep launch`'s
// preflight (core/sweep/model-fit.ts) and the EPO bench (bench/epo.ts) both use it. No tfjs import here.
import type { ModelConfig } from './config.js';
import { family } from './families/index.js';

/** The wasm backend's heap: 32-bit addresses, at most 4 GiB per backend (one per worker thread). */
export const WASM_HEAP_BYTES = 2 ** 32;

/** Room a wasm engine needs besides its weights: activations, the chunked logits and gradients (2^24 floats each), the allocator's slack. */
export const WASM_WORKING_BYTES = 2 ** 29;

/** webgpu and tensorflow (which may run on a GPU) want big products; wasm and cpu want work that fits in cache. */
const wantsBigProducts = (backend: string) => backend === 'webgpu' || backend === 'tensorflow';

/**
 * Why per backend: on wasm and cpu a chunk larger than 2^24 floats (64 MiB of logits) buys no speed and costs
 * memory; a GPU backend wants whole batches in one call, bounded by its memory (2^27 floats = 512 MiB).
 */
export function chunkFloatsFor(backend: string): number {
  return wantsBigProducts(backend) ? 2 ** 27 : 2 ** 24;
}

/**
 * The unembedding's slab width (unembed.ts): on wasm and cpu, slabs that fit in cache; a GPU backend wants the
 * whole matrix in one product.
 */
export function slabColumnsFor(backend: string): number | undefined {
  return wantsBigProducts(backend) ? undefined : 1024;
}

/** Parameters of `cfg` as stored (tied embeddings once). */
export function parameterCount(cfg: ModelConfig): number {
  const names = family(cfg.family).tensors(cfg, new Set());
  let n = 0;
  for (const shape of names.values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Bytes of the weights a tfjs engine holds for `cfg` (core/model/load.ts toModel): every matrix of a linear in both
 * orientations (linear.ts), the unembedding's slabs a further copy of W_U when the embedding is tied (unembed.ts),
 * learned positions and vectors once.
 */
export function tfjsWeightBytes(cfg: ModelConfig, slabbed: boolean): number {
  const { dModel: d, dMlp, dVocab: V, nLayers: L, nHeads, nKvHeads, dHead } = cfg;
  const matrices = d * (nHeads + 2 * nKvHeads) * dHead + nHeads * dHead * d + (cfg.gatedMlp ? 3 : 2) * d * dMlp;
  const vectors = 4 * d + (cfg.qkvBias ? (nHeads + 2 * nKvHeads) * dHead : 0) + (cfg.qkNorm ? 2 * dHead : 0) + (cfg.mlpBias ? 2 * dMlp + d : 0);
  const embedCopies = 2 + (cfg.tieEmbeddings ? (slabbed ? 1 : 0) : 2);
  const floats = L * (2 * matrices + vectors) + embedCopies * V * d + (cfg.nCtx ?? 0) * d + 2 * d;
  return 4 * floats;
}

/** Whether a tfjs engine on wasm can load `cfg`: its weights as tfjs holds them, plus room to work, within the heap. */
export function fitsWasmHeap(cfg: ModelConfig, slabbed: boolean): boolean {
  return tfjsWeightBytes(cfg, slabbed) + WASM_WORKING_BYTES <= WASM_HEAP_BYTES;
}
