// What a model family plugs in (families/index.ts lists them): its config.json parsed into the shared ModelConfig,
// the Hugging Face tensors it expects, and how they map onto the shared weights the forward pass runs
// (transformer.ts). The shared layout: matrices [in, out], fused QKV, fused gate|up.
import type { ConfigReader, FamilyKey, ModelConfig } from '../config.js';
import type { FloatTensor } from '../safetensors.js';

/** A weight in the shared layout, computed when the loader asks for it: one at a time, so the peak is one matrix. */
export interface HostArray {
  shape: number[];
  data(): Float32Array;
}

/** LayerNorm (w, b) or RMSNorm (w). */
export interface HostNorm {
  w: HostArray;
  b?: HostArray;
}

export interface HostBlock {
  ln1: HostNorm;
  ln2: HostNorm;
  /** Gemma: norms of the attention's and the MLP's outputs before the residual adds (postNorms). */
  postAttnNorm?: HostNorm;
  postMlpNorm?: HostNorm;
  /** [dModel, (nHeads + 2 nKvHeads) dHead]: columns [query heads | key heads | value heads], dHead each. */
  wQKV: HostArray;
  bQKV?: HostArray;
  /** [nHeads dHead, dModel] */
  wO: HostArray;
  bO?: HostArray;
  /** [dHead] (qkNorm) */
  qNorm?: HostArray;
  kNorm?: HostArray;
  /** [dModel, dMlp], or [dModel, 2 dMlp] as [gate | up] for a gated MLP (one product for both). */
  wIn: HostArray;
  bIn?: HostArray;
  /** [dMlp, dModel] */
  wOut: HostArray;
  bOut?: HostArray;
}

export interface HostWeights {
  /** [dVocab, dModel] */
  wE: HostArray;
  /** [nCtx, dModel] (learned positions) */
  wPos?: HostArray;
  blocks: HostBlock[];
  lnFinal: HostNorm;
  /** [dModel, dVocab]; absent: tied to wE. */
  wU?: HostArray;
}

/** A checkpoint's tensors by Hugging Face name (float32, as stored: torch linears are [out, in]). */
export type Tensors = ReadonlyMap<string, FloatTensor>;

export interface Family {
  key: FamilyKey;
  /** The Hugging Face class it runs, and the model_type that implies it when config.json lists no architectures. */
  architecture: string;
  modelType: string;
  /** config.json -> ModelConfig; refuses what the forward pass does not implement (E_MODEL_CONFIG, naming the key). */
  parseConfig(c: ConfigReader): ModelConfig;
  /** The tensors the checkpoint must hold, by name, with their shapes as stored ([out, in] for torch linears). */
  tensors(cfg: ModelConfig, names: ReadonlySet<string>): Map<string, number[]>;
  /** The shared weights from tensors that passed `tensors`' check. */
  weights(cfg: ModelConfig, tensors: Tensors): HostWeights;
}

/** A stored tensor used as it is. */
export function asIs(t: FloatTensor): HostArray {
  return { shape: t.shape, data: () => t.data };
}

/** torch linears [out, in], side by side as one [in, sum of outs] matrix (one alone: its transpose). */
export function linearsT(...parts: FloatTensor[]): HostArray {
  const inn = parts[0]!.shape[1]!;
  const total = parts.reduce((s, p) => s + p.shape[0]!, 0);
  return {
    shape: [inn, total],
    data: () => {
      const out = new Float32Array(inn * total);
      let col = 0;
      for (const p of parts) {
        const [rows, src] = [p.shape[0]!, p.data];
        for (let r = 0; r < rows; r++) for (let c = 0; c < inn; c++) out[c * total + col + r] = src[r * inn + c]!;
        col += rows;
      }
      return out;
    },
  };
}

/** Vectors end to end (the biases of fused linears). */
export function concat(...parts: FloatTensor[]): HostArray {
  const total = parts.reduce((s, p) => s + p.data.length, 0);
  return {
    shape: [total],
    data: () => {
      const out = new Float32Array(total);
      let at = 0;
      for (const p of parts) {
        out.set(p.data, at);
        at += p.data.length;
      }
      return out;
    },
  };
}

/** A getter that asserts presence (the names were checked against `tensors` before). */
export function getter(tensors: Tensors): (name: string) => FloatTensor {
  return (name) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`tensor ${name} missing after the shape check`);
    return t;
  };
}

/** RMSNorm weights w as (1 + w) in float32 (normPlusOne: transformers' Gemma norms multiply by 1 + w). */
export function plusOne(h: HostArray): HostArray {
  return {
    shape: h.shape,
    data: () => {
      const w = h.data();
      const out = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) out[i] = 1 + w[i]!; // rounded to float32 as torch's 1.0 + w.float()
      return out;
    },
  };
}
