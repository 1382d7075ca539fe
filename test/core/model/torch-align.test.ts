// The scan's alignments on the torch engine's side of the pipe (TapOptions.align), on the CPU in float32: equal to
// the TypeScript rule (alignmentRows, float64) on the same residuals to rounding, [B, J] float64 over the pipe
// instead of [B, dModel], vectors sent once per process, and a scan on torch equal to the same scan on wasm.
// Needs the engine's Python (skipped without it; torch-engine.test.ts fails under CI when it is missing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { TapOptions, TapValues } from '../../../core/engine.js';
import type { ScanCheckpoint, ScanResult } from '../../../core/corpus/result.js';
import { alignmentRows, alignOption, scanCorpus } from '../../../core/corpus/scan.js';
import { randomBaseline } from '../../../core/baselines/random.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { TorchEngine } from '../../../core/model/torch-engine.js';
import { torchPythonAvailable } from '../../../core/model/torch-env.js';
import { jsonl, targets, tempDir } from '../corpus/helpers.js';
import { MODELS, readGolden } from './helpers.js';

// The device computes in float64 from the same float32 residuals: only the summation order differs from alignmentRows.
const ROUNDING = 1e-9;
// torch vs wasm forwards differ in float32 rounding (the parity tolerance of torch-engine.test.ts).
const PARITY = 1e-4;

const scaled = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

describe.skipIf(!torchPythonAvailable())('alignments on the torch engine (cpu, float32)', () => {
  let engine: TorchEngine;
  let wasm: TfjsEngine;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    [engine, wasm] = await Promise.all([
      TorchEngine.load(join(MODELS, 'tiny-serial-rope1'), { device: 'cpu', dtype: 'float32', threads: 1 }),
      TfjsEngine.load(join(MODELS, 'tiny-serial-rope1'), { backend: 'wasm' }),
    ]);
    tmp = tempDir();
  }, 300_000);
  afterAll(() => {
    engine?.dispose();
    wasm?.dispose();
    tmp?.cleanup();
  });

  it('equal alignmentRows on the raw taps, and only [B, J] crosses the pipe', async () => {
    // 64 prompts, so that the raw taps would dwarf a frame's header.
    const golden = readGolden('tiny-serial-rope1').prompts;
    const prompts = Array.from({ length: 64 }, (_, i) => golden[i % golden.length]!.map((t, j) => (t + 7 * i + j) % engine.tokenizer.vocabSize));
    const B = prompts.length;
    const { nLayers, dModel } = engine.shape;
    const t = targets(
      Array.from({ length: nLayers + 1 }, (_, L) => L),
      3,
      dModel,
    );
    const names = t.map((x) => `resid_pre.${x.layer}`);
    const align = alignOption(t);
    const raw = await engine.taps(prompts, names, { cePositions: true });

    const before = engine.wireBytes;
    const got = await engine.taps(prompts, names, { cePositions: true, align });
    const first = engine.wireBytes;
    const again = await engine.taps(prompts, names, { cePositions: true, align });
    const second = engine.wireBytes;

    for (const x of t) {
      const name = `resid_pre.${x.layer}`;
      expect(got.values[name], `${name} values`).toBeUndefined();
      const want = alignmentRows(raw, x, B, (b) => `prompt ${b}`);
      const a = got.alignments![name]!;
      expect(a).toBeInstanceOf(Float64Array);
      expect(a).toHaveLength(B * 3);
      for (let i = 0; i < a.length; i++) expect(scaled(a[i]!, want[i]!)).toBeLessThan(ROUNDING);
      expect(Array.from(again.alignments![name]!)).toEqual(Array.from(a));
    }
    expect(Array.from(got.ce)).toEqual(Array.from(raw.ce));
    expect(Array.from(got.cePositions!)).toEqual(Array.from(raw.cePositions!));

    // The reply's arrays: alignments, CE and per-position CE; no [B, dModel] tap (a JSON header of at most 2 KiB on top).
    const n = prompts[0]!.length;
    const payload = t.length * B * 3 * 8 + B * 4 + B * (n - 1) * 4;
    for (const bytes of [first.received - before.received, second.received - first.received]) {
      expect(bytes).toBeGreaterThanOrEqual(payload);
      expect(bytes).toBeLessThan(payload + 2048);
    }
    expect(payload + 2048).toBeLessThan(t.length * B * dModel * 4); // the raw taps alone would not fit
    // The vectors go with the first request only.
    const vectorBytes = t.length * 3 * dModel * 4;
    expect(first.sent - before.sent).toBeGreaterThan(vectorBytes);
    expect(second.sent - first.sent).toBeLessThan(vectorBytes);
  });

  it('sends the vectors again to a restarted process and after the engine evicted them', async () => {
    const prompts = readGolden('tiny-serial-rope1').prompts;
    const t = targets([1], 2, engine.shape.dModel);
    const align = alignOption(t);
    const want = (await engine.taps(prompts, [], { align })).alignments!['resid_pre.1']!;
    process.kill(engine.pid!, 'SIGKILL');
    await engine.taps(prompts, [], { align }).catch(() => undefined); // the kill may land before or after this call
    expect(Array.from((await engine.taps(prompts, [], { align })).alignments!['resid_pre.1']!)).toEqual(Array.from(want));
    // More vector sets than the engine keeps (32): the first is evicted, the engine says so, the client resends it.
    for (let i = 0; i < 33; i++) await engine.taps(prompts, [], { align: { 'resid_pre.1': { vectors: align['resid_pre.1']!.vectors.map((x) => x * (i + 2)), count: 2 } } });
    expect(Array.from((await engine.taps(prompts, [], { align })).alignments!['resid_pre.1']!)).toEqual(Array.from(want));
  }, 120_000);

  it('rejects vectors of the wrong length with a clear error', async () => {
    const prompts = readGolden('tiny-serial-rope1').prompts;
    await expect(engine.taps(prompts, [], { align: { 'resid_pre.0': { vectors: new Float32Array(5), count: 1 } } })).rejects.toMatchObject({
      code: 'E_ENGINE_INPUT',
      message: expect.stringContaining(`vectors of length ${engine.shape.dModel}`),
    });
  });

  describe('the scan', () => {
    const texts = [
      'The quick brown fox jumps over the lazy dog, and then it runs away into the forest.',
      'Language models read text one token at a time and predict what comes next.',
      'A scan keeps the windows whose residual stream aligns best with each direction.',
      'Every window of the corpus is read once, and the best ones per direction are kept.',
    ];
    const scan = (evaluate: (ids: number[][], names: string[], o: TapOptions & { cePositions: true }) => Promise<TapValues>, extra = {}) =>
      scanCorpus({
        shards: [tmp.write('c.jsonl', jsonl(texts))],
        tokenizer: engine.tokenizer,
        evaluate,
        targets: targets([0, 2, 3], 4, engine.shape.dModel),
        n: 6,
        k: 3,
        batchSize: 5,
        ...extra,
      });
    const seen: TapValues[] = [];
    const onTorch = (ids: number[][], names: string[], o: TapOptions & { cePositions: true }) => engine.taps(ids, names, o).then((v) => (seen.push(v), v));

    it('on torch equals the same scan on wasm, and on torch without align; resume is byte-identical', async () => {
      const torch = await scan(onTorch);
      // The device path ran: every batch came back as alignments, with no raw residuals.
      expect(seen.length).toBeGreaterThan(1);
      for (const v of seen) {
        expect(Object.keys(v.alignments ?? {}).sort()).toEqual(['resid_pre.0', 'resid_pre.2', 'resid_pre.3']);
        expect(Object.keys(v.values)).toEqual([]);
      }
      const rawTorch = await scan((ids, names, { align: _, ...o }) => engine.taps(ids, names, o));
      const onWasm = await scan((ids, names, o) => wasm.taps(ids, names, o));
      expectSameScan(torch, rawTorch, ROUNDING);
      expectSameScan(torch, onWasm, PARITY);

      let saved: ScanCheckpoint | undefined;
      await scan(onTorch, {
        checkpointEvery: 1,
        onCheckpoint: (c: ScanCheckpoint) => {
          saved ??= structuredClone(c);
        },
      });
      const resumed = await scan(onTorch, { resume: saved });
      expect(JSON.stringify(resumed)).toBe(JSON.stringify(torch));
    }, 120_000);

    it('the random baseline on torch equals the one on wasm', async () => {
      const o = { targets: targets([1, 3], 3, engine.shape.dModel), prompts: 40, seqLen: 5, seed: 3, batchSize: 16, top: 4 };
      const [a, b] = await Promise.all([randomBaseline({ engine, ...o }), randomBaseline({ engine: wasm, ...o })]);
      expect(a.pairs.map((p) => p.top.map((w) => w.ids))).toEqual(b.pairs.map((p) => p.top.map((w) => w.ids)));
      a.pairs.forEach((p, i) => {
        expect(scaled(p.mean!, b.pairs[i]!.mean!)).toBeLessThan(PARITY);
        expect(scaled(p.std!, b.pairs[i]!.std!)).toBeLessThan(PARITY);
      });
    });
  });
});

/** Same windows, counts and top-K ids in the same order; alignments, CE and moments within `tol` (scale-relative). */
function expectSameScan(a: ScanResult, b: ScanResult, tol: number): void {
  expect(a.windows).toBe(b.windows);
  expect(a.pairs.map((p) => p.top.map((w) => w.ids))).toEqual(b.pairs.map((p) => p.top.map((w) => w.ids)));
  a.pairs.forEach((p, i) => {
    const q = b.pairs[i]!;
    expect(p.count).toBe(q.count);
    expect(scaled(p.mean!, q.mean!)).toBeLessThan(tol);
    expect(scaled(p.std!, q.std!)).toBeLessThan(tol);
    p.top.forEach((w, j) => {
      expect(scaled(w.alignment, q.top[j]!.alignment)).toBeLessThan(tol);
      expect(scaled(w.ce, q.top[j]!.ce)).toBeLessThan(PARITY);
    });
  });
}
