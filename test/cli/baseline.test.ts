// `dreamsweep baseline random` through the real bin: deterministic result.json, the same numbers as the library
// with the sweeps' vectors (from --random-vectors or the same vectors as a file), errors in one line with exit 2.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetsFromOptions, type TargetCliOptions } from '../../cli/baseline.js';
import { randomBaseline } from '../../core/baselines/random.js';
import { TfjsEngine } from '../../core/model/tfjs-engine.js';
import { randomVectorSet } from '../../core/objectives/vectors.js';
import { runCli } from '../helpers/cli.js';

const MODEL = 'test/fixtures/models/tiny-parallel';
const tmp = () => mkdtempSync(path.join(tmpdir(), 'dreamsweep-baseline-'));
const ARGS = ['baseline', 'random', '--model', MODEL, '--layers', '0,2', '--prompts', '50', '--seq-len', '6', '--top', '3', '--quiet'];
const read = (dir: string) => readFileSync(path.join(dir, 'result.json'), 'utf8');

describe('dreamsweep baseline random', () => {
  let engine: TfjsEngine;
  beforeAll(async () => {
    engine = await TfjsEngine.load(MODEL, { backend: 'wasm' });
  });
  afterAll(() => engine.dispose());

  it("writes the same result.json for the same seeds whatever the batch size or vector source, with the library's numbers", async () => {
    const dir = tmp();
    const set = randomVectorSet([0, 2], 2, 3, engine.shape.dModel);
    const file = path.join(dir, 'vectors.json');
    writeFileSync(file, JSON.stringify(Object.fromEntries([...set].map(([L, vs]) => [L, vs.map((v) => Array.from(v))]))));
    const [a, b, c] = ['a', 'b', 'c'].map((d) => path.join(dir, d)) as [string, string, string];
    const runs = await Promise.all([
      runCli([...ARGS, '--random-vectors', '2', '--seed', '3', '--prompt-seed', '9', '--out', a]),
      runCli([...ARGS, '--random-vectors', '2', '--seed', '3', '--prompt-seed', '9', '--batch-size', '7', '--out', b]),
      runCli([...ARGS, '--vectors', file, '--prompt-seed', '9', '--out', c]),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(read(b)).toBe(read(a));
    expect(runs[0]!.stdout.split('\n')[0]).toMatch(/^layer\s+vector\s+mean\s+std\s+max\s+best text$/);
    const json = JSON.parse(read(a));
    expect(json).toMatchObject({ format: 'dreamsweep.random', version: 1, prompts: 50, seqLen: 6, seed: 9, vectors: { count: 2, seed: 3 } });
    expect(json.model).toMatch(/^sha256:/);
    for (const p of json.pairs) {
      expect(Object.keys(p).sort()).toEqual(['count', 'layer', 'max', 'mean', 'moments', 'std', 'top', 'vector']);
      for (const t of p.top) for (const id of t.ids) expect(engine.tokenizer.specialIds.has(id)).toBe(false);
    }
    const fromFile = JSON.parse(read(c));
    expect(fromFile.vectors).toEqual({ file });
    expect(fromFile.pairs).toEqual(json.pairs);
    const lib = await randomBaseline({
      engine,
      targets: [...set].map(([layer, vectors]) => ({ layer, vectors })),
      prompts: 50,
      seqLen: 6,
      seed: 9,
      batchSize: 64,
      top: 3,
    });
    expect(JSON.stringify(json.pairs)).toBe(JSON.stringify(lib.pairs));
  });

  it('explains bad options in one line, exit code 2, no stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /exactly one of --vectors FILE and --random-vectors N/],
      [['--random-vectors', '2', '--prompts', '1'], /--prompts: expected an integer >= 2, got "1"/],
    ];
    const results = await Promise.all(cases.map(([extra]) => runCli([...ARGS, ...extra, '--out', tmp()])));
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  });

  it('turns every vector option mistake into an E_CLI or E_VECTORS_FILE error that names the option', () => {
    const dir = tmp();
    const layer1 = path.join(dir, 'v.json');
    writeFileSync(layer1, JSON.stringify({ 1: [Array(32).fill(0.1)] }));
    const base: TargetCliOptions = { model: MODEL, seed: 0, threads: 1 };
    const cases: Array<[Partial<TargetCliOptions>, string, RegExp]> = [
      [{ randomVectors: 2, vectors: layer1 }, 'E_CLI', /exactly one of/],
      [{ randomVectors: 2 }, 'E_CLI', /--random-vectors needs --layers/],
      [{ randomVectors: 2, layers: [0, 7] }, 'E_CLI', /layer 7 is out of range \[0, 2\]/],
      [{ vectors: path.join(dir, 'none.json') }, 'E_VECTORS_FILE', /file not found/],
      [{ vectors: layer1, layers: [0] }, 'E_CLI', /no vectors for layer 0 \(the file has 1\)/],
    ];
    for (const [o, code, message] of cases) {
      expect(() => targetsFromOptions({ ...base, ...o }, engine), JSON.stringify(o)).toThrow(message);
      try {
        targetsFromOptions({ ...base, ...o }, engine);
      } catch (e) {
        expect((e as { code: string }).code).toBe(code);
      }
    }
    // Without --layers, a vectors file gives every layer it holds.
    expect(targetsFromOptions({ ...base, vectors: layer1 }, engine).targets.map((t) => t.layer)).toEqual([1]);
  });
});
