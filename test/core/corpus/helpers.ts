// Shared by the corpus tests: temporary directories, a tiny zstd writer (raw blocks), an in-memory store
// for `mem://` URIs, a word tokenizer and a deterministic fake evaluator whose taps depend only on a window's ids.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine, TapValues, Tokenizer } from '../../../core/engine.js';
import { isUserError } from '../../../core/errors.js';
import type { CorpusStore } from '../../../core/corpus/source.js';
import type { ScanFeature, ScanTarget } from '../../../core/corpus/result.js';
import type { ScanOptions } from '../../../core/corpus/scan.js';
import { featureOf, targetOfSpec } from '../../../core/objectives/kinds/index.js';
import { parseObjective } from '../../../core/objectives/spec.js';
import { saePath } from '../model/helpers.js';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

/** A fresh temporary directory and a function that removes it. */
export function tempDir(): { dir: string; write: (name: string, data: string | Uint8Array) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-corpus-'));
  return {
    dir,
    write: (name, data) => {
      const path = join(dir, name);
      writeFileSync(path, data);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Valid zstd frames holding `data` in raw (stored) blocks: the format's simplest legal encoding, enough to
 * exercise the streaming reader on large inputs without a compressor. A new frame every `frameSize` bytes.
 */
export function zstdRaw(data: Uint8Array | string, frameSize = 1 << 20): Uint8Array {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const BLOCK = 1 << 17; // the largest block a 128 KiB window allows
  const out: Uint8Array[] = [];
  for (let f = 0; f === 0 || f < bytes.length; f += frameSize) {
    const frame = bytes.subarray(f, Math.min(bytes.length, f + frameSize));
    // Magic, frame header descriptor (no content size, no checksum, no dictionary), window log 17.
    out.push(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (17 - 10) << 3]));
    for (let b = 0; b === 0 || b < frame.length; b += BLOCK) {
      const block = frame.subarray(b, Math.min(frame.length, b + BLOCK));
      const last = b + BLOCK >= frame.length ? 1 : 0;
      const h = (block.length << 3) | last; // block type 0 (raw)
      out.push(Uint8Array.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), block);
    }
  }
  const total = out.reduce((n, p) => n + p.length, 0);
  const result = new Uint8Array(total);
  let at = 0;
  for (const p of out) {
    result.set(p, at);
    at += p.length;
  }
  return result;
}

/** An in-memory CorpusStore for `mem://` URIs that counts chunks handed out (chunkSize bytes each). */
export function memoryStore(files: Record<string, Uint8Array | string>, chunkSize = 1 << 16): CorpusStore & { chunksRead: number } {
  const store = {
    chunksRead: 0,
    async list(prefix: string) {
      return Object.keys(files)
        .filter((u) => u.startsWith(prefix))
        .reverse();
    },
    async open(uri: string, options: { start?: number } = {}) {
      const data = files[uri];
      if (data === undefined) throw new Error(`mem: no object ${uri}`);
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      return (async function* () {
        for (let i = options.start ?? 0; i < bytes.length; i += chunkSize) {
          store.chunksRead++;
          yield bytes.slice(i, i + chunkSize);
        }
      })();
    },
  };
  return store;
}

/** FNV-1a over numbers (32-bit). */
export function hash(values: Iterable<number>, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const v of values) {
    h ^= v & 0xffff;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= v >>> 16;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Whitespace words -> ids (a hash of the word), decoded as `t<id>` joined by spaces. */
export function wordTokenizer(): Tokenizer {
  return {
    vocabSize: 1 << 16,
    specialIds: new Set(),
    encode: (text) =>
      text.trim()
        ? text
            .trim()
            .split(/\s+/)
            .map((w) => hash([...w].map((c) => c.codePointAt(0)!)) & 0xffff)
        : [],
    decode: (ids) => ids.map((id) => `t${id}`).join(' '),
  };
}

/** xorshift32 floats in [-1, 1) from a seed. */
function floats(seed: number, count: number, out: Float32Array, at: number): void {
  let x = seed || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[at + i] = ((x >>> 0) / 2 ** 32) * 2 - 1;
  }
}

/** A fake `engine.taps`: each window's residuals and CE are a function of its ids alone. */
export function fakeEvaluator(dModel: number, calls: { windows: number; batches: number } = { windows: 0, batches: 0 }) {
  return async (ids: number[][], names: string[]): Promise<TapValues> => {
    calls.windows += ids.length;
    calls.batches++;
    const values: Record<string, Float32Array> = {};
    const dims: Record<string, number> = {};
    for (const name of names) {
      const layer = Number(name.split('.')[1]);
      const v = new Float32Array(ids.length * dModel);
      ids.forEach((w, b) => floats(hash(w, 0x811c9dc5 ^ layer), dModel, v, b * dModel));
      values[name] = v;
      dims[name] = dModel;
    }
    // Per-position CE from the window's prefixes, so equal prefixes agree; the window CE is their mean.
    const n = ids[0]!.length;
    const cePositions = new Float32Array(ids.length * (n - 1));
    ids.forEach((w, b) => {
      for (let i = 0; i < n - 1; i++) cePositions[b * (n - 1) + i] = 1 + (hash(w.slice(0, i + 2)) % 4096) / 1024;
    });
    const ce = Float32Array.from(ids, (_, b) => cePositions.subarray(b * (n - 1), (b + 1) * (n - 1)).reduce((a, x) => a + x, 0) / (n - 1));
    return { values, dims, ce, cePositions };
  };
}

/** Unit vectors per layer, deterministic. */
export function targets(layers: number[], perLayer: number, dModel: number): ScanTarget[] {
  return layers.map((layer) => ({
    layer,
    vectors: Array.from({ length: perLayer }, (_, j) => {
      const v = new Float32Array(dModel);
      floats(hash([layer, j]), dModel, v, 0);
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    }),
  }));
}

export const SMOKE_CORPUS = join(import.meta.dirname, '../../fixtures/corpus/smoke.jsonl');

/** A scan feature from a CLI objective spec, keyed and labelled as `dreamsweep scan --objective` does. */
export function feature(engine: Engine, spec: string): ScanFeature {
  const objective = parseObjective(spec, engine.shape, engine.tokenizer);
  return featureOf(targetOfSpec(spec, objective), objective);
}

/**
 * The feature scan of the smoke corpus on tiny-llama3 that the scan tests run on each engine: a neuron, a logit
 * with banned text, a relu SAE on resid_pre.1 (also the residual pair's tap: read raw for the SAE, aligned for the
 * pair) and a TopK SAE; windows of 6 every 4 tokens.
 */
export function smokeFeatureScan(engine: Engine): ScanOptions & { features: ScanFeature[] } {
  const saes = { relu: saePath('saelens-standard-tiny-llama3-resid_pre.1'), topk: saePath('saelens-topk-constant_norm_rescale-tiny-llama3-mlp_out.0') };
  return {
    shards: [SMOKE_CORPUS],
    tokenizer: engine.tokenizer,
    evaluate: (ids, names, o) => engine.taps(ids, names, o),
    targets: targets([1], 2, engine.shape.dModel),
    features: [feature(engine, 'neuron:1:3'), feature(engine, 'logit: the'), feature(engine, `sae:${saes.relu}#2`), feature(engine, `sae:${saes.topk}#5`)],
    engine,
    n: 6,
    stride: 4,
    k: 6,
    batchSize: 16,
  };
}

/** Deterministic word documents: `count` docs of varying length over a small vocabulary. */
export function wordDocs(count: number, seed = 1): string[] {
  return Array.from({ length: count }, (_, i) => {
    const len = (hash([i, seed]) % 40) + (i % 7 === 3 ? 0 : 2);
    return Array.from({ length: len }, (_, j) => `w${hash([i, j, seed]) % 50}`).join(' ');
  });
}

export function jsonl(texts: string[], field = 'text'): string {
  return texts.map((t, i) => JSON.stringify({ [field]: t, id: i })).join('\n') + '\n';
}

/** The UserError code a promise rejects with, or 'none' when it resolves (other errors propagate). */
export async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isUserError(e)) return e.code;
    throw e;
  }
  return 'none';
}
