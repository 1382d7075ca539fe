// Dataset-scan throughput on a Pythia-70m-shaped random model (d_model 512, 6 layers, 8 heads, d_mlp 2048, vocab
// 50304, n = 12): windows/s and tokens/s of scanCorpus over a generated jsonl corpus, for every layer's resid_pre
// and 50 vectors per layer at once, and the share of the backend's measured tf.matMul throughput that is.
// Useful FLOPs per window = 2 * params_used * n, params_used = the blocks' weight matrices (12 d_model^2 per layer)
// plus the unembedding (d_model * d_vocab, every position, for the windows' CE); the embedding is a lookup.
// --engine torch runs a preset's shape (--preset, default 70m; bench/presets.ts) with random weights built on the device instead, in
// --dtype on --device, words hashed to ids; it reports achieved TFLOP/s (and the GPU's peak memory), no matmul share,
// and the bytes per batch over the pipe: with --align on (the default) the engine returns [B, pairs] alignments, with
// off [B, dModel] residuals per layer that the scan aligns in TypeScript; --align both measures on, then off (`align_off`).
// Prints one JSON object. Usage: tsx bench/scan.ts [--backend wasm] [--threads 1] [--batch 64] [--windows 768]
//        [--engine torch --preset 1.4b --dtype bfloat16 --device cuda --align both|on|off]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Engine, TapOptions, TapValues } from '../core/engine.js';
import { scanCorpus } from '../core/corpus/scan.js';
import { describeBackend, initBackend } from '../core/model/backend.js';
import { matmulGflops } from './matmul.js';
import { PoolEngine } from '../core/model/pool-engine.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { randomVectorSet } from '../core/objectives/vectors.js';
import { TorchEngine } from '../core/model/torch-engine.js';
import type { TorchDtype } from '../core/model/names.js';
import { forwardFlopsPerPosition, presetConfig, presetTokenizer } from './presets.js';
import { makeCheckpoint, seededRandom } from '../test/fixtures/make-checkpoint.js';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' },
    windows: { type: 'string', default: '768' },
    vectors: { type: 'string', default: '50' },
    n: { type: 'string', default: '12' },
    engine: { type: 'string', default: 'tfjs' },
    preset: { type: 'string', default: '70m' },
    dtype: { type: 'string' },
    device: { type: 'string' },
    align: { type: 'string', default: 'on' },
  },
});
if (!['both', 'on', 'off'].includes(args.align)) throw new Error(`--align: expected both, on or off, got ${args.align}`);
const n = Number(args.n);
const batch = Number(args.batch);
const windows = Number(args.windows);
const threads = Number(args.threads);
const torch = args.engine === 'torch';
const SHAPE = torch ? presetConfig(args.preset) : { dModel: 512, nHeads: 8, nLayers: 6, dVocab: 50304 };

const dir = mkdtempSync(join(tmpdir(), 'dreamsweep-bench-scan-'));
try {
  const model = join(dir, 'model');
  if (!torch) makeCheckpoint(model, { ...SHAPE, tokenizerVocab: 300, rotaryPct: 0.25, parallel: true, dialect: 'classic', dtype: 'F16', seed: 70 });
  // A corpus of word-salad documents, enough for `windows` windows.
  const rand = seededRandom(5);
  const words = ['the', 'model', 'reads', 'a', 'window', 'of', 'text', 'and', 'predicts', 'next', 'token', 'river', 'market', 'quietly', 'seven'];
  const lines: string[] = [];
  for (let chars = 0; chars < windows * n * 6;) {
    const doc = Array.from({ length: 40 + Math.floor(rand() * 80) }, () => words[Math.floor(rand() * words.length)]!).join(' ');
    lines.push(JSON.stringify({ text: doc }));
    chars += doc.length;
  }
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, lines.join('\n') + '\n');

  const engine: Engine = torch
    ? await TorchEngine.random(presetConfig(args.preset), presetTokenizer(args.preset), 70, {
        ...(args.dtype !== undefined && { dtype: args.dtype as TorchDtype }),
        ...(args.device !== undefined && { device: args.device }),
        ...(args.threads !== undefined && { threads }),
      })
    : threads > 1
      ? await PoolEngine.load(model, { threads, backend: args.backend })
      : await TfjsEngine.load(model, { backend: args.backend });
  const layers = Array.from({ length: SHAPE.nLayers + 1 }, (_, L) => L);
  const targets = [...randomVectorSet(layers, Number(args.vectors), 0, SHAPE.dModel)].map(([layer, vectors]) => ({ layer, vectors }));
  let engineSeconds = 0;
  let batches = 0;
  const evaluator =
    (align: boolean) =>
    async (ids: number[][], names: string[], { align: vectors, ...options }: TapOptions): Promise<TapValues> => {
      const t0 = performance.now();
      const taps = await engine.taps(ids, names, align ? { ...options, align: vectors! } : options);
      engineSeconds += (performance.now() - t0) / 1000;
      batches++;
      return taps;
    };
  const run = (budgetWindows: number, align = true) =>
    scanCorpus({ shards: [corpus], tokenizer: engine.tokenizer, evaluate: evaluator(align), targets, n, k: 16, batchSize: batch, tokenBudget: budgetWindows * n });
  if (engine instanceof TorchEngine) {
    const flopsPerWindow = forwardFlopsPerPosition(presetConfig(args.preset), n) * n;
    const modes = args.align === 'both' ? [true, false] : [args.align === 'on'];
    const measured: Array<Record<string, number>> = [];
    let first: { windows: number; tokens: number } | undefined;
    for (const align of modes) {
      await run(batch, align); // warm-up: kernels, first allocations, the vectors sent
      engineSeconds = 0;
      batches = 0;
      const bytes = engine.wireBytes;
      const t = performance.now();
      const r = await run(windows, align);
      const s = (performance.now() - t) / 1000;
      const after = engine.wireBytes;
      first ??= r;
      measured.push({
        seconds: +s.toFixed(2),
        windows_per_s: +(r.windows / s).toFixed(2),
        tokens_per_s: +(r.tokens / s).toFixed(1),
        engine_share_of_time: +(engineSeconds / s).toFixed(3),
        achieved_tflops: +(((r.windows / s) * flopsPerWindow) / 1e12).toFixed(4),
        bytes_received_per_batch: Math.round((after.received - bytes.received) / batches),
        bytes_sent_per_batch: Math.round((after.sent - bytes.sent) / batches),
      });
    }
    const memory = await engine.peakMemory();
    process.stdout.write(
      `${JSON.stringify({
        bench: 'scan',
        engine: 'torch',
        backend: engine.describe(),
        preset: args.preset,
        n,
        batch,
        pairs: targets.length * Number(args.vectors),
        windows: first!.windows,
        tokens: first!.tokens,
        align: modes[0] ? 'on' : 'off',
        ...measured[0],
        ...(measured[1] && { align_off: measured[1] }),
        ...(memory.peakBytes !== null && { peak_gpu_memory_gib: +(memory.peakBytes / 2 ** 30).toFixed(2) }),
      })}\n`,
    );
    engine.dispose();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
  await run(batch); // warm-up: kernels, first allocations
  engineSeconds = 0;
  const t0 = performance.now();
  const result = await run(windows);
  const seconds = (performance.now() - t0) / 1000;
  engine.dispose();

  // The backend's matmul throughput, on this thread (initialised here too when the model ran on worker threads): the blocks' MLP shape and the unembedding's shape at batch x n rows.
  await initBackend(args.backend);
  const rows = batch * n;
  const mlp = await matmulGflops(rows, SHAPE.dModel, 4 * SHAPE.dModel);
  const unembed = await matmulGflops(rows, SHAPE.dModel, SHAPE.dVocab);
  const peak = Math.max(mlp, unembed) * threads; // threads: one backend each, assumed to scale
  const blockParams = 12 * SHAPE.dModel ** 2 * SHAPE.nLayers;
  const paramsUsed = blockParams + SHAPE.dModel * SHAPE.dVocab;
  const flopsPerWindow = 2 * paramsUsed * n;
  const windowsPerS = result.windows / seconds;
  const achieved = (windowsPerS * flopsPerWindow) / 1e9;
  process.stdout.write(
    JSON.stringify({
      bench: 'scan',
      model: 'pythia-70m-shaped random (d_model 512, 6 layers, 8 heads, d_mlp 2048, vocab 50304)',
      backend: describeBackend(),
      threads,
      node: process.version,
      n,
      batch,
      pairs: targets.length * Number(args.vectors),
      windows: result.windows,
      tokens: result.tokens,
      seconds: +seconds.toFixed(2),
      windows_per_s: +windowsPerS.toFixed(2),
      tokens_per_s: +(result.tokens / seconds).toFixed(1),
      engine_share_of_time: +(engineSeconds / seconds).toFixed(3),
      params_used: paramsUsed,
      useful_gflop_per_window: +(flopsPerWindow / 1e9).toFixed(3),
      achieved_gflops: +achieved.toFixed(2),
      matmul_gflops: { [`${rows}x512x2048`]: +mlp.toFixed(2), [`${rows}x512x50304`]: +unembed.toFixed(2) },
      share_of_matmul: +(achieved / peak).toFixed(3),
    }) + '\n',
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
