// Pythia's real shapes (EleutherAI's configs) as bench presets, for engines that build random weights of a shape
// on the device (the torch engine), the tfjs EPO benches' random checkpoint, and the FLOP counts the benches report.
import type { Tokenizer } from '../core/engine.js';
import type { ModelConfig } from '../core/model/config.js';
import { makeCheckpoint } from '../test/fixtures/make-checkpoint.js';

const SHAPES = {
  '70m': { dModel: 512, nLayers: 6, nHeads: 8, dVocab: 50304 },
  '160m': { dModel: 768, nLayers: 12, nHeads: 12, dVocab: 50304 },
  '410m': { dModel: 1024, nLayers: 24, nHeads: 16, dVocab: 50304 },
  '1.4b': { dModel: 2048, nLayers: 24, nHeads: 16, dVocab: 50304 },
  '2.8b': { dModel: 2560, nLayers: 32, nHeads: 32, dVocab: 50304 },
  '6.9b': { dModel: 4096, nLayers: 32, nHeads: 32, dVocab: 50432 },
  '12b': { dModel: 5120, nLayers: 36, nHeads: 40, dVocab: 50688 },
} as const;
export type PythiaPreset = keyof typeof SHAPES;
export const PYTHIA_PRESETS = Object.keys(SHAPES) as PythiaPreset[];

/** The tokenizer's size for every Pythia model (the embedding is padded past it). */
export const PYTHIA_TOKENIZER_VOCAB = 50277;

export function pythiaConfig(preset: string): ModelConfig {
  const s = SHAPES[preset as PythiaPreset];
  if (!s) throw new Error(`--preset: expected one of ${PYTHIA_PRESETS.join(', ')}, got "${preset}"`);
  const dHead = s.dModel / s.nHeads;
  return {
    family: 'gpt_neox',
    architecture: 'GPTNeoXForCausalLM',
    ...s,
    nKvHeads: s.nHeads,
    dHead,
    dMlp: 4 * s.dModel,
    normalization: 'LN',
    eps: 1e-5,
    positional: 'rotary',
    rotaryDim: Math.floor(dHead * 0.25),
    rotaryBase: 10000,
    act: 'gelu',
    gatedMlp: false,
    parallelAttnMlp: true,
    qkvBias: true,
    attnOutBias: true,
    mlpBias: true,
    qkNorm: false,
    tieEmbeddings: false,
  };
}

/** Enough of a tokenizer for random weights: each whitespace-separated word is one id (a hash), 0 is special. */
export function idTokenizer(vocabSize: number): Tokenizer {
  const id = (word: string) => {
    let h = 2166136261;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619) >>> 0;
    return 1 + (h % (vocabSize - 1));
  };
  return {
    vocabSize,
    specialIds: new Set([0]),
    encode: (text) => text.split(/\s+/).filter(Boolean).map(id),
    decode: (ids) => ids.join(' '),
  };
}

/** Forward FLOPs per token position (2 per multiply-add): the blocks' matrices and attention over n, plus the unembedding. */
export function forwardFlopsPerPosition(cfg: ModelConfig, n: number): number {
  const { dModel: d, dMlp, dVocab: V, nLayers: L } = cfg;
  return 2 * (L * (4 * d * d + 2 * d * dMlp + n * d) + d * V);
}

/** The EPO benches' model: a checkpoint of `cfg`'s shape in `dir`, seeded random float32 weights, a 1024-token tokenizer. */
export function writeRandomCheckpoint(dir: string, cfg: ModelConfig): void {
  makeCheckpoint(dir, {
    dModel: cfg.dModel,
    nHeads: cfg.nHeads,
    nLayers: cfg.nLayers,
    dVocab: cfg.dVocab,
    tokenizerVocab: 1024,
    rotaryPct: 0.25,
    parallel: true,
    dialect: 'classic',
    dtype: 'F32',
    seed: 12,
  });
}
