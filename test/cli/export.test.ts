// `dreamsweep export`: a target's dreams and dataset windows as Neuronpedia activation records. The records
// against the engine (the fake one, whose f of a prefix is a known sum; the tiny model through the real bin):
// values per token, their max, argmax and min, tokens that decode, dataset values from the scan; coded errors.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TfjsEngine } from '../../core/model/tfjs-engine.js';
import { aggregateSweep } from '../../core/report/aggregate.js';
import { exportData, exportFiles, exportName, exportRecords, exportTargetKey, type ActivationRecord, type ExportFile } from '../../core/report/export.js';
import { fakeEngine } from '../helpers/fake-engine.js';
import { runCli } from '../helpers/cli.js';
import { buildFixture, type Fixture } from '../core/report/fixture.js';

const MODEL = 'test/fixtures/models/tiny-parallel';
const tmp = () => mkdtempSync(path.join(tmpdir(), 'dreamsweep-export-'));

/** Neuronpedia's summary fields agree with `values`. */
function expectConsistent(r: ActivationRecord): void {
  expect(r.values).toHaveLength(r.ids.length);
  expect(r.tokens).toHaveLength(r.ids.length);
  expect(r.maxValue).toBe(Math.max(...r.values));
  expect(r.maxValueTokenIndex).toBe(r.values.indexOf(r.maxValue));
  expect(r.minValue).toBe(Math.min(...r.values));
}

describe('exportRecords', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await buildFixture({ unfinished: [], noHistory: null });
  });

  it("gives the frontier's dreams with the engine's per-token values and the scan's windows with theirs", async () => {
    const engine = fakeEngine({ vocab: 64, seqLen: 6, seed: 3 });
    const { data, target } = await exportData(fx.store, fx.plan, 'neuron L1.N3');
    // Only that target is read, and it is the report's.
    expect(data.targets.map((t) => t.label)).toEqual(['neuron L1.N3']);
    expect(data.pairs).toEqual([]);
    expect(target).toEqual((await aggregateSweep(fx.store, fx.plan.sweepId)).targets[0]);
    expect(exportTargetKey(fx.plan, target.feature.key)).toBe(target.feature.key);
    const file = await exportRecords(engine, data, target);
    const dreams = file.activations.filter((r) => r.kind === 'dream');
    const windows = file.activations.filter((r) => r.kind === 'dataset');
    // Dreams: the frontier across seeds in order, then the best under the cap if not on it.
    expect(dreams.slice(0, target.frontier.length).map((r) => [r.ids, r.activation, r.ce, r.seed, r.lambda])).toEqual(
      target.frontier.map((p) => [p.ids, p.f, p.ce, p.seed, p.lambda]),
    );
    expect(dreams.filter((r) => r.bestUnderCap).map((r) => r.ids)).toEqual([target.bestUnderCap!.ids]);
    for (const r of dreams) {
      // The fake engine's f of a prefix is the sum of W[p][t_p] over its positions.
      let sum = 0;
      expect(r.values).toEqual(r.ids.map((t, p) => Math.fround((sum += engine.W[p]![t]!))));
      expect(r.tokens).toEqual(r.ids.map((id) => `w${id}`));
      expect(r.text).toBe(r.tokens.join(' '));
      expect([r.rank, r.source]).toEqual([null, null]);
      expectConsistent(r);
    }
    // Dataset windows: the scan's activations, rank order, where they are in the corpus.
    const feature = fx.scan.features!.find((f) => f.key === target.feature.key)!;
    expect(windows.map((r) => [r.rank, r.ids, r.values, r.activation, r.ce, r.source])).toEqual(
      feature.top.map((w, i) => [i + 1, w.ids, w.activations, w.activation, w.ce, w.source]),
    );
    for (const r of windows) expectConsistent(r);
    // The JSONL holds the JSON file's records, one a line; the bytes are the same on a second export.
    const { json, jsonl } = exportFiles(file);
    expect((JSON.parse(json) as ExportFile).activations).toEqual(
      jsonl
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    );
    expect(exportFiles(await exportRecords(engine, data, target))).toEqual({ json, jsonl });
    expect(exportName('logit " model"')).toBe('logit_model');
  });

  it('names the known targets for an unknown one, and says when the scan has no features', async () => {
    expect(() => exportTargetKey(fx.plan, 'neuron L9.N9')).toThrow(
      expect.objectContaining({ code: 'E_EXPORT_TARGET', message: expect.stringContaining('its targets (one of these after --target): neuron L1.N3; logit " model"') }),
    );
    const old = await buildFixture({ features: false });
    const { data: oldData, target } = await exportData(old.store, old.plan, 'neuron L1.N3');
    await expect(exportRecords(fakeEngine({ vocab: 64, seqLen: 6 }), oldData, target)).rejects.toMatchObject({ code: 'E_EXPORT_NO_SCAN' });
  });
});

describe('dreamsweep export', () => {
  let fx: Fixture;
  let engine: TfjsEngine;
  beforeAll(async () => {
    fx = await buildFixture({ unfinished: [], noHistory: null });
    engine = await TfjsEngine.load(MODEL, { backend: 'wasm' });
  });
  afterAll(() => engine.dispose());
  const sweepDir = () => path.join(fx.dir, 'sweeps', fx.plan.sweepId);

  it('writes the JSON and JSONL records of a target with the model', async () => {
    const out = tmp();
    const r = await runCli(['export', sweepDir(), '--target', 'neuron L1.N3', '--out', out, '--model', MODEL, '--engine', 'tfjs', '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/neuron L1\.N3: \d+ dreams, 6 dataset examples/);
    const file = JSON.parse(readFileSync(path.join(out, 'neuron_L1.N3.activations.json'), 'utf8')) as ExportFile;
    const lines = readFileSync(path.join(out, 'neuron_L1.N3.activations.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(file.activations);
    expect(file).toMatchObject({ format: 'dreamsweep.export', version: 1, sweepId: fx.plan.sweepId, target: 'neuron L1.N3' });
    const objective = { kind: 'neuron', layer: 1, index: 3 } as const;
    for (const rec of file.activations) {
      expectConsistent(rec);
      // Tokens are the model's decoding of each id, and together the prompt's text.
      expect(rec.tokens).toEqual(rec.ids.map((id) => engine.tokenizer.decode([id])));
      if (rec.kind === 'dream') {
        expect(rec.text).toBe(engine.tokenizer.decode(rec.ids));
        // The value at the last token is the neuron's activation on the whole prompt, as the engine computes it.
        const { f } = await engine.evaluate([rec.ids], objective);
        expect(rec.values.at(-1)).toBeCloseTo(f[0]!, 4);
      }
    }
  });

  it('refuses an unknown target (listing the known ones) and a missing model directory, exit code 2', async () => {
    const unknown = await runCli(['export', sweepDir(), '--target', 'neuron L0.N0', '--out', tmp()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('E_EXPORT_TARGET');
    expect(unknown.stderr).toContain('neuron L1.N3; logit " model"');
    const noModel = await runCli(['export', sweepDir(), '--target', 'neuron L1.N3', '--out', tmp()]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/\/models\/none is not on this machine; add --model DIR.*\[E_EXPORT_MODEL\]/);
    const old = await buildFixture({ features: false });
    const noScan = await runCli(['export', path.join(old.dir, 'sweeps', old.plan.sweepId), '--target', 'neuron L1.N3', '--out', tmp(), '--model', MODEL]);
    expect(noScan.code).toBe(2);
    expect(noScan.stderr).toContain('E_EXPORT_NO_SCAN');
  });
});
