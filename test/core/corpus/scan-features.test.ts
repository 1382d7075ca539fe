// The scan's neuron, logit and SAE targets on the real tfjs engine: f computed from the raw taps equals the engine's
// own objective for every kind (SAE fixtures of every format, TopK included); the top windows equal a brute-force
// evaluation of every window of a corpus; shards merge and a checkpoint resumes into byte-identical results.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureJson, ScanCheckpoint, ScanFeature } from '../../../core/corpus/result.js';
import { mergeScanResults, scanCorpus } from '../../../core/corpus/scan.js';
import { corpusWindows, type TokenWindow } from '../../../core/corpus/windows.js';
import type { Engine, Objective } from '../../../core/engine.js';
import { openEngine } from '../../../core/model/open-engine.js';
import { lastTokenTaps, lastTokenValues } from '../../../core/objectives/kinds/index.js';
import { parseObjective } from '../../../core/objectives/spec.js';
import { tokenActivations } from '../../../core/objectives/token-activations.js';
import { MODELS, readSaeGoldens, saePath } from '../model/helpers.js';
import { SMOKE_CORPUS, smokeFeatureScan } from './helpers.js';

const CORPUS = SMOKE_CORPUS;
/** float32 on the engine, float64 from the same float32 taps here. */
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));

async function fromTaps(engine: Engine, ids: number[][], objectives: Objective[]): Promise<Float64Array[]> {
  const names = [...new Set(objectives.flatMap(lastTokenTaps))];
  return lastTokenValues(objectives, await engine.taps(ids, names, { ce: false }), ids.length);
}

describe("f from the raw taps (each kind's lastToken) equals the engine's objective", () => {
  // Every SAE fixture on the model it fits (its golden names both), all its latents, on the golden's prompts.
  it.each(readSaeGoldens().map((g) => [g.sae, g] as const))('%s, every latent', async (_name, golden) => {
    const engine = await openEngine(join(MODELS, golden.model), { engine: 'tfjs' });
    try {
      const site = `${golden.tap ?? golden.hook}:`;
      const dSae = golden.acts[0]!.length;
      const objectives = Array.from({ length: dSae }, (_, l) => parseObjective(`sae:${site}${saePath(golden.sae)}#${l}`, engine.shape, engine.tokenizer));
      const got = await fromTaps(engine, golden.prompts, objectives);
      let active = 0;
      for (const [l, o] of objectives.entries()) {
        const { f } = await engine.evaluate(golden.prompts, o);
        f.forEach((want, b) => {
          expect(close(got[l]![b]!, want), `latent ${l} prompt ${b}: ${got[l]![b]} vs ${want}`).toBe(true);
          if (want > 0) active++;
        });
      }
      expect(active).toBeGreaterThan(0);
    } finally {
      engine.dispose();
    }
  });

  // tiny-gemma2 caps its logits: the logits tap and the logit objective read the same capped values.
  it.each(['tiny-parallel', 'tiny-llama3', 'tiny-gemma2'])('neuron and logit on %s', async (model) => {
    const engine = await openEngine(join(MODELS, model), { engine: 'tfjs' });
    try {
      const ids = [
        [5, 9, 13, 2, 7],
        [3, 4, 8, 1, 6],
        [11, 12, 10, 9, 8],
      ];
      const objectives: Objective[] = [
        { kind: 'neuron', layer: 1, index: 3 },
        { kind: 'neuron', layer: 0, index: 0 },
        { kind: 'logit', token: 4 },
        { kind: 'logit', token: 9 },
      ];
      const got = await fromTaps(engine, ids, objectives);
      for (const [i, o] of objectives.entries()) {
        const { f } = await engine.evaluate(ids, o);
        f.forEach((want, b) => expect(close(got[i]![b]!, want), `${JSON.stringify(o)} row ${b}`).toBe(true));
      }
    } finally {
      engine.dispose();
    }
  });
});

describe('scan features on tiny-llama3 (a BOS) over the smoke corpus', () => {
  let engine: Engine;
  let features: ScanFeature[];
  let options: ReturnType<typeof smokeFeatureScan>;
  beforeAll(async () => {
    engine = await openEngine(join(MODELS, 'tiny-llama3'), { engine: 'tfjs' });
    options = smokeFeatureScan(engine);
    features = options.features;
  });
  afterAll(() => engine.dispose());

  it('keeps the top windows a brute-force evaluation of every window finds, banned text excluded', async () => {
    expect(features[1]!.bannedText).toBe('the');
    const r = await scanCorpus(options);
    const windows: TokenWindow[] = [];
    for await (const w of corpusWindows([{ uri: CORPUS }], engine.tokenizer, { n: 6, stride: 4, textField: 'text', skipBad: false })) windows.push(w);
    expect(r.windows).toBe(windows.length);
    expect(r.features.map((f) => f.kind)).toEqual(['neuron', 'logit', 'sae', 'sae']);
    for (const [i, f] of features.entries()) {
      const got: FeatureJson = r.features[i]!;
      const { f: all } = await engine.evaluate(
        windows.map((w) => w.ids),
        f.objective,
      );
      const kept = windows.map((w, j) => ({ w, a: all[j]! })).filter(({ w }) => f.bannedText === undefined || !engine.tokenizer.decode(w.ids).toLowerCase().includes(f.bannedText));
      const want = [...kept].sort((x, y) => y.a - x.a || x.w.source.byteOffset - y.w.source.byteOffset || x.w.source.token - y.w.source.token).slice(0, 6);
      expect(got.key).toBe(f.key);
      expect(new Set(got.top.map((e) => e.activation)).size, 'a target that varies').toBeGreaterThan(1);
      expect([got.count, got.excluded]).toEqual([kept.length, windows.length - kept.length]);
      if (f.bannedText) expect(got.excluded).toBeGreaterThan(0);
      expect(got.top.map((e) => e.ids)).toEqual(want.map((x) => x.w.ids));
      expect(got.top.map((e) => e.source)).toEqual(want.map((x) => x.w.source));
      got.top.forEach((e, j) => expect(close(e.activation, want[j]!.a)).toBe(true));
      expect(close(got.max!, want[0]!.a)).toBe(true);
      expect(close(got.mean!, kept.reduce((s, x) => s + x.a, 0) / kept.length)).toBe(true);
      // The histogram holds every counted window; the quantiles lie in the activation's range.
      expect(got.histogram.zero + got.histogram.buckets.reduce((s, b) => s + b.count, 0)).toBe(got.count);
      for (const q of got.quantiles) expect(q.value! >= got.min! - 1e-9 && q.value! <= got.max! * 1.125 + 1e-9).toBe(true);
      // Activations at every token: f of each prefix; the last one is the window's.
      const rows = await tokenActivations(
        engine,
        got.top.map((e) => e.ids),
        f.objective,
      );
      got.top.forEach((e, j) => {
        expect(e.activations).toEqual(rows[j]);
        expect(close(e.activations!.at(-1)!, e.activation)).toBe(true);
      });
    }
    for (const p of r.pairs) expect(p.histogram!.zero + p.histogram!.buckets.reduce((s, b) => s + b.count, 0)).toBe(p.count);
  });

  it('merges shards into, and resumes into, exactly the one scan (byte-identical)', async () => {
    const checkpoints: ScanCheckpoint[] = [];
    const whole = await scanCorpus({ ...options, checkpointEvery: 1, onCheckpoint: (ck) => void checkpoints.push(JSON.parse(JSON.stringify(ck)) as ScanCheckpoint) });
    expect(checkpoints.length).toBeGreaterThan(2);
    // Checkpoints carry no activations: the finished scan fills them.
    expect(checkpoints[1]!.partial.features.every((f) => f.top.every((e) => e.activations === undefined))).toBe(true);
    const resumed = await scanCorpus({ ...options, resume: checkpoints[1]! });
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(whole));

    const size = statSync(CORPUS).size;
    const cuts = [0, Math.floor(size / 3), Math.floor((2 * size) / 3), size];
    const parts = await Promise.all([2, 0, 1].map((i) => scanCorpus({ ...options, shards: [{ uri: CORPUS, start: cuts[i]!, end: cuts[i + 1]! }], batchSize: 5 + i })));
    expect(JSON.stringify(mergeScanResults(parts))).toBe(JSON.stringify({ ...whole, shards: [{ uri: CORPUS, end: size }] }));
    // Another feature list is another scan.
    const fewer = await scanCorpus({ ...options, features: features.slice(1), shards: [{ uri: CORPUS, start: cuts[0]!, end: cuts[1]! }] });
    expect(() => mergeScanResults([parts[1]!, fewer])).toThrow(/features/);
  });
});
