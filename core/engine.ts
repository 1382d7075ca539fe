// The engine protocol (docs/engine.md): the few operations EPO, the baselines and the report need
// from a model. Two engines serve it: tfjs in-process (core/model/tfjs-engine.ts) and a PyTorch process
// (core/model/torch-engine.ts, engines/torch).

/** An objective is plain data, so every engine computes the same thing. */
export type Objective =
  /** Alignment of the standardised residual stream entering block `layer` (last token) with `vector`. */
  | { kind: 'resid'; layer: number; vector: Float32Array }
  /** Activation entering the MLP output projection of block `layer`, unit `index`, last token. */
  | { kind: 'neuron'; layer: number; index: number }
  /** `logit[token] - max over other tokens` at the last position. */
  | { kind: 'logit'; token: number }
  /** One SAE latent's activation at the last token (core/objectives/sae.ts reads the SAE; docs/objectives.md). */
  | SaeObjective;

/**
 * A sparse autoencoder latent, as its library encodes it: x = the tap at the last token; x -> normalise ->
 * minus bDec; pre = x . wEnc + bEnc; f = activation(pre).
 */
export interface SaeObjective {
  kind: 'sae';
  /** The tap the SAE reads, a canonical tap name: 'resid_pre.L' | 'resid_post.L' | 'mlp_out.L' (core/model/taps.ts). */
  tap: string;
  /** SAELens' normalize_activations as it applies them at encode time; 'none' (or absent) leaves x as it is. */
  normalize?: 'none' | 'constant_norm_rescale' | 'layer_norm';
  /** [d_in], subtracted from x where the SAE does (SAELens apply_b_dec_to_input; sparsify always; Gemma Scope never). */
  bDec?: Float32Array;
  /** [d_in]: the latent's encoder column. */
  wEnc: Float32Array;
  bEnc: number;
  activation: SaeActivation;
  latent: number;
  dSae: number;
}

export type SaeActivation =
  /** relu(pre). */
  | { kind: 'relu' }
  /** relu(pre) * (pre > threshold). */
  | { kind: 'jumprelu'; threshold: number }
  /**
   * relu(pre) when the latent is among the k largest pre-activations of all latents, else 0. SAELens selects on
   * pre and applies relu after, sparsify applies relu before: the two agree (relu is monotone; ties only at 0).
   * `wEncAll` is the whole encoder [d_in, d_sae] row-major (x @ wEncAll), `bEncAll` [d_sae]. Gradient: the
   * selection held fixed (straight-through), d f / d pre_latent = 1 when selected and positive, 0 otherwise.
   */
  | { kind: 'topk'; k: number; wEncAll: Float32Array; bEncAll: Float32Array; dSae: number; latent: number };

/** What evaluating a batch of prompts yields, one entry per prompt. */
export interface Evaluation {
  /** Objective value f per prompt. */
  f: Float32Array;
  /** Mean next-token cross-entropy over positions 1..n-1, per prompt. */
  ce: Float32Array;
}

/**
 * Gradient of `f - lambda_i * CE` with respect to each prompt's one-hot tokens x[i, v], reduced to top-k. The
 * one-hot enters twice, and both are differentiated, as the paper's code does: through the embeddings
 * (x @ W_E) and as CE's targets (CE = -(1/(n-1)) sum_{i>=1} sum_v x[i, v] log_softmax(logits[i-1])[v]).
 */
export interface GradientResult extends Evaluation {
  /** Top-k token ids per (prompt, position) by gradient, descending: flat [B, n, k]. */
  topk: Int32Array;
  k: number;
  /** Full gradients, flat [B, n, dVocab], only when asked for. */
  grads?: Float32Array;
}

/** Unit vectors for one tap, flat [count, dim] row-major; the array must not change once passed (engines cache it). */
export interface AlignVectors {
  vectors: Float32Array;
  count: number;
}

export interface TapOptions {
  ce?: boolean;
  cePositions?: boolean;
  /**
   * Per tap name, vectors to align the tap with: an engine that serves this returns `alignments[name]` and may
   * leave `values[name]` out, so [B, count] instead of [B, dim] leaves it; one that does not returns the raw
   * values. The alignment is core/corpus/scan.ts's `alignmentRows` rule (the `resid` objective's standardise-and-dot).
   */
  align?: Record<string, AlignVectors>;
}

/** Values at the last token, flat [B, dim] per tap name (`resid_pre.3`, `mlp_post.1`, `logits`), but those in `alignments`. */
export interface TapValues {
  values: Record<string, Float32Array>;
  dims: Record<string, number>;
  ce: Float32Array;
  /** Next-token cross-entropy at positions 1..n-1, flat [B, n-1]: only when asked for (`cePositions`). */
  cePositions?: Float32Array;
  /** Per `options.align` tap, when the engine serves it: flat [B, count], float64. */
  alignments?: Record<string, Float64Array>;
}

export interface Tokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** Size of the tokenizer's vocabulary (may be smaller than the model's dVocab). */
  readonly vocabSize: number;
  /** Ids of special tokens (excluded from random prompts). */
  readonly specialIds: ReadonlySet<number>;
  /**
   * The beginning-of-sequence token the tokenizer's post-processing puts before every text (Llama 3, Gemma), if
   * any. Prompts and windows never hold it: core/model/bos.ts puts it in front of every row an engine computes.
   */
  readonly bos?: number;
}

/** The model's shape as the algorithms need it (TransformerLens names). */
export interface ModelShape {
  nLayers: number;
  dModel: number;
  dMlp: number;
  dVocab: number;
}

/**
 * Which prompts of an `evaluate` batch are one-position edits of a known parent: prompt b equals
 * `parents[parentOf[b]]` at positions 0..from[b]-1 (it may differ at from[b] and after). An engine may reuse
 * the parent's activations for those positions; one that ignores the hint is still correct.
 */
export interface PrefixHint {
  /** Full parent prompts, each as long as the batch's prompts. */
  parents: number[][];
  /** Per prompt: index into `parents`, or -1 for a prompt with no parent. */
  parentOf: number[];
  /** Per prompt: the first position that may differ from its parent (0..n-1; ignored when parentOf is -1). */
  from: number[];
}

export interface GradientOptions {
  /** Also return the full gradients. */
  full?: boolean;
  /** allowed[t] = 1 if token t may appear in top-k; default: every id the tokenizer knows. */
  allowed?: Uint8Array;
}

export interface EvaluateOptions {
  prefix?: PrefixHint;
}

export interface Engine {
  readonly shape: ModelShape;
  readonly tokenizer: Tokenizer;
  /** Backend in use (`wasm`, `cpu`, `webgpu`, `tensorflow`). */
  readonly backend: string;
  evaluate(ids: number[][], objective: Objective, options?: EvaluateOptions): Promise<Evaluation>;
  gradients(ids: number[][], lambdas: number[], objective: Objective, k: number, options?: GradientOptions): Promise<GradientResult>;
  /**
   * `options.ce = false` skips the logits (and blocks past the deepest tap); `ce` is then empty.
   * `options.cePositions` also returns each position's next-token CE (the prefix CEs of paper Fig. 5a).
   */
  taps(ids: number[][], names: string[], options?: TapOptions): Promise<TapValues>;
  dispose(): void;
}
