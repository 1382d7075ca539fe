// Loading a Hugging Face model directory (config.json, model.safetensors or shards + index, tokenizer.json) of any
// family (families/) into tfjs tensors. Every failure is a UserError with a stable code and the offending file in
// its message.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { checkSeqLen, type ModelConfig } from './config.js';
import { family, parseModelConfig } from './families/index.js';
import type { HostArray, HostNorm } from './families/family.js';
import { readSafetensorsDir, type FloatTensor } from './safetensors.js';
import { HfJsonTokenizer } from './tokenizer.js';
import type { Model, Weights } from './transformer.js';
import type { BlockWeights } from './block.js';
import type { NormWeights } from './norm.js';
import { linearFrom, type Linear } from './linear.js';
import { unembedFrom } from './unembed.js';

/** Host-side weights (float32, HF layout) before they become tensors: what a worker thread can be sent. */
export interface HostCheckpoint {
  dir: string;
  cfg: ModelConfig;
  tensors: Map<string, FloatTensor>;
  files: Map<string, string>;
}

/** Reads and checks config.json and the safetensors weights; no tfjs involved. */
export function readCheckpoint(dir: string): HostCheckpoint {
  const cfg = readConfig(dir);
  const { tensors, files } = readSafetensorsDir(dir);
  checkShapes(cfg, tensors, files, dir);
  return { dir, cfg, tensors, files };
}

/** Reads and checks a model directory's config.json alone: cheap, for checking options before any work. */
export function readConfig(dir: string): ModelConfig {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) {
    throw new UserError('E_MODEL_MISSING_FILE', `${configPath}: file not found; is ${dir} a Hugging Face model directory?`);
  }
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (e) {
    throw new UserError('E_MODEL_CONFIG', `${configPath}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it must be the model's config.json file`, {
      cause: e,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError('E_MODEL_CONFIG', `${configPath}: not valid JSON`, { cause: e });
  }
  return parseModelConfig(raw, configPath);
}

/** Loads the tokenizer and checks it fits the model (its ids must be embeddable). */
export function readTokenizer(dir: string, cfg: ModelConfig): HfJsonTokenizer {
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) {
    throw new UserError('E_MODEL_MISSING_FILE', `${path}: file not found; a model directory needs tokenizer.json`);
  }
  const tok = HfJsonTokenizer.fromFile(path, join(dir, 'tokenizer_config.json'));
  if (tok.vocabSize > cfg.dVocab) {
    throw new UserError(
      'E_TOKENIZER_VOCAB',
      `${path}: the tokenizer has ids up to ${tok.vocabSize - 1} but config.json's vocab_size is ${cfg.dVocab}; ` +
        'the model cannot embed those tokens (wrong tokenizer for this model?)',
    );
  }
  return tok;
}

/**
 * checkSeqLen for the model in `dir`, counting its tokenizer's BOS: the tokenizer is read only where the BOS decides
 * (seqLen + 1 past the model's positions), so a sweep or command on a short window does not parse it twice.
 */
export function checkModelSeqLen(dir: string, seqLen: number, what: string): void {
  const cfg = readConfig(dir);
  const decides = cfg.maxPositions !== undefined && seqLen + 1 > cfg.maxPositions;
  checkSeqLen(cfg, seqLen, what, decides ? readTokenizer(dir, cfg) : {});
}

function checkShapes(cfg: ModelConfig, tensors: Map<string, FloatTensor>, files: Map<string, string>, dir: string): void {
  const expected = family(cfg.family).tensors(cfg, new Set(tensors.keys()));
  const weightsFile = files.values().next().value ?? join(dir, 'model.safetensors');
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) {
      throw new UserError(
        'E_MODEL_MISSING_TENSOR',
        `${weightsFile}: tensor ${name} is missing (expected shape [${shape}]); not a ${cfg.architecture} checkpoint matching config.json?`,
      );
    }
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new UserError('E_MODEL_SHAPE', `${files.get(name)}: tensor ${name}: expected shape [${shape}] from config.json, got [${t.shape}]`);
    }
  }
}

/**
 * Turns host weights into tfjs tensors on the current backend, through the family's mapping onto the shared
 * layout (one weight at a time). `slabColumns`: the unembedding's column slabs (unembed.ts; absent: one slab).
 */
export function toModel(ck: HostCheckpoint, options: { slabColumns?: number } = {}): Model {
  const { cfg, tensors } = ck;
  const host = family(cfg.family).weights(cfg, tensors);
  const vec = (h: HostArray) => tf.tensor1d(h.data());
  const mat = (h: HostArray) => tf.tensor2d(h.data(), h.shape as [number, number]);
  const linear = (h: HostArray) => linearFrom(mat(h));
  // Optional weights (biases, q/k norms): present keys only, as the weight types declare them optional.
  const optional = (hs: Record<string, HostArray | undefined>) => Object.fromEntries(Object.entries(hs).flatMap(([k, h]) => (h ? [[k, vec(h)]] : [])));
  const normW = (n: HostNorm) => ({ w: vec(n.w), ...optional({ b: n.b }) }) as NormWeights;
  const blocks = host.blocks.map((b): BlockWeights => ({
    ln1: normW(b.ln1),
    ln2: normW(b.ln2),
    ...(b.postAttnNorm ? { postAttnNorm: normW(b.postAttnNorm) } : {}),
    ...(b.postMlpNorm ? { postMlpNorm: normW(b.postMlpNorm) } : {}),
    attn: { wQKV: linear(b.wQKV), wO: linear(b.wO), ...optional({ bQKV: b.bQKV, bO: b.bO, qNorm: b.qNorm, kNorm: b.kNorm }) },
    mlp: { wIn: linear(b.wIn), wOut: linear(b.wOut), ...optional({ bIn: b.bIn, bOut: b.bOut }) },
  }));
  const embed = linear(host.wE);
  // Tied: the unembedding is the embedding's transpose; share the tensors (the slabs are copies).
  const unLinear = host.wU ? linear(host.wU) : { w: embed.wT, wT: embed.w };
  const unembed = unembedFrom(unLinear.w, unLinear.wT, options.slabColumns, cfg.finalSoftcap);
  if (host.wU && unembed.slabs[0] !== unLinear.w) unLinear.w.dispose(); // the slabs hold it now
  const weights: Weights = {
    embed,
    ...(host.wPos ? { pos: mat(host.wPos) } : {}),
    blocks,
    lnFinal: normW(host.lnFinal),
    unembed,
  };
  return { cfg, weights };
}

/** Every tensor a model holds, for dispose(). */
export function modelTensors(model: Model): tf.Tensor[] {
  const w = model.weights;
  const lin = (l: Linear) => [l.w, l.wT];
  const some = (...ts: Array<tf.Tensor | undefined>) => ts.filter((t): t is tf.Tensor => t !== undefined);
  const out: tf.Tensor[] = [...lin(w.embed), ...w.unembed.slabs, w.unembed.wT, ...some(w.pos, w.lnFinal.w, w.lnFinal.b)];
  for (const b of w.blocks) {
    const { attn: a, mlp: m } = b;
    out.push(...some(b.ln1.w, b.ln1.b, b.ln2.w, b.ln2.b, b.postAttnNorm?.w, b.postMlpNorm?.w), ...lin(a.wQKV), ...lin(a.wO), ...some(a.bQKV, a.bO, a.qNorm, a.kNorm));
    out.push(...lin(m.wIn), ...lin(m.wOut), ...some(m.bIn, m.bOut));
  }
  return [...new Set(out)]; // tied weights appear twice
}
