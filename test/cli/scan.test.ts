// `dreamsweep scan` through the real bin: result.json equals the library's scan with the sweeps' vectors, the
// token budget stops it, --resume from a checkpoint gives the uninterrupted result, bad corpora fail in one line.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTokens } from '../../cli/scan.js';
import type { ScanCheckpoint } from '../../core/corpus/result.js';
import { scanCorpus, type ScanOptions } from '../../core/corpus/scan.js';
import { TfjsEngine } from '../../core/model/tfjs-engine.js';
import { featureOf, targetOfSpec } from '../../core/objectives/kinds/index.js';
import { parseObjective } from '../../core/objectives/spec.js';
import { randomVectorSet } from '../../core/objectives/vectors.js';
import { runCli } from '../helpers/cli.js';

const MODEL = 'test/fixtures/models/tiny-parallel';
const CORPUS = path.resolve('test/fixtures/corpus/smoke.jsonl');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'dreamsweep-scan-'));
const ARGS = ['scan', '--model', MODEL, '--layers', '1,2', '--random-vectors', '3', '--seed', '4', '--seq-len', '6', '--top', '4', '--quiet'];
const read = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8'));

describe('dreamsweep scan', () => {
  let engine: TfjsEngine;
  let options: ScanOptions;
  beforeAll(async () => {
    engine = await TfjsEngine.load(MODEL, { backend: 'wasm' });
    const set = randomVectorSet([1, 2], 3, 4, engine.shape.dModel);
    options = {
      shards: [CORPUS],
      tokenizer: engine.tokenizer,
      evaluate: (ids, names, o) => engine.taps(ids, names, o),
      targets: [...set].map(([layer, vectors]) => ({ layer, vectors })),
      n: 6,
      k: 4,
      textField: 'text',
      skipBad: false,
    };
  });
  afterAll(() => engine.dispose());

  it("writes the library's scan result (windows, tokens, pairs), stops at --tokens, and resumes to the same result", async () => {
    const [whole, budget, resumed] = [tmp(), tmp(), tmp()];
    // A checkpoint the CLI would have written after 3 batches of 64.
    const checkpoints: ScanCheckpoint[] = [];
    const lib = await scanCorpus({ ...options, batchSize: 64, checkpointEvery: 3, onCheckpoint: (ck) => void checkpoints.push(ck) });
    mkdirSync(resumed, { recursive: true });
    writeFileSync(path.join(resumed, 'checkpoint.json'), JSON.stringify(checkpoints[0]));
    const [rw, rb, rr] = await Promise.all([
      runCli([...ARGS, '--corpus', CORPUS, '--out', whole, '--checkpoint-every', '1', '--batch-size', '10']),
      runCli([...ARGS, '--corpus', CORPUS, '--out', budget, '--tokens', '100']),
      runCli([...ARGS, '--corpus', CORPUS, '--out', resumed, '--resume']),
    ]);
    for (const r of [rw, rb, rr]) expect(r.code, r.stderr).toBe(0);
    const w = read(whole);
    expect(w).toMatchObject({ format: 'dreamsweep.scan', stoppedBy: 'end', windows: lib.windows, tokens: lib.windows * 6, vectors: { count: 3, seed: 4 } });
    expect(JSON.stringify(w.pairs)).toBe(JSON.stringify(lib.pairs));
    expect(w.ce).toEqual(lib.ce);
    expect(existsSync(path.join(whole, 'checkpoint.json'))).toBe(false); // removed once result.json is written
    expect(rw.stdout.split('\n')[0]).toMatch(/^layer\s+vector\s+mean\s+std\s+max\s+best text$/);
    expect(rw.stderr).toMatch(/\d+ windows \(\d+ tokens\) from 40 documents; stopped by end/);
    expect(read(budget)).toMatchObject({ stoppedBy: 'budget', windows: 16, tokens: 96 });
    expect(read(resumed)).toEqual(w);
  });

  it('shows bad corpus input and misuse of --out in one line with exit code 2', async () => {
    const dir = tmp();
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text": "fine line of text here"}\n{"text": broken\n');
    const busy = path.join(dir, 'busy');
    mkdirSync(busy);
    writeFileSync(path.join(busy, 'checkpoint.json'), '{}');
    const cases: Array<[string[], RegExp]> = [
      [['--corpus', bad, '--out', tmp()], /bad\.jsonl:2: .*JSON/],
      [['--corpus', path.join(dir, 'missing.jsonl'), '--out', tmp()], /missing\.jsonl: no such file or directory/],
      [['--corpus', CORPUS, '--out', busy], /holds an unfinished scan \(checkpoint\.json\); pass --resume/],
    ];
    const results = await Promise.all(cases.map(([extra]) => runCli([...ARGS, ...extra])));
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  });

  it('scans --objective targets (neuron, logit with its banned text) as the library does, with or without vectors', async () => {
    const specs = ['neuron:1:3', 'logit: the'];
    const features = specs.map((spec) => {
      const objective = parseObjective(spec, engine.shape, engine.tokenizer);
      return featureOf(targetOfSpec(spec, objective), objective);
    });
    const lib = await scanCorpus({ ...options, features, engine });
    const [both, alone] = [tmp(), tmp()];
    const objectives = specs.flatMap((s) => ['--objective', s]);
    const base = ['scan', '--model', MODEL, '--seq-len', '6', '--top', '4', '--quiet', '--corpus', CORPUS];
    const [rb, ra, rr] = await Promise.all([
      runCli([...ARGS, ...objectives, '--corpus', CORPUS, '--out', both]),
      runCli([...base, ...objectives, '--out', alone]),
      runCli([...base, '--objective', 'resid:1:random:0', '--out', tmp()]),
    ]);
    for (const r of [rb, ra]) expect(r.code, r.stderr).toBe(0);
    const b = read(both);
    expect(JSON.stringify(b.features)).toBe(JSON.stringify(lib.features));
    expect(JSON.stringify(b.pairs)).toBe(JSON.stringify(lib.pairs));
    expect(b.features[1]).toMatchObject({ kind: 'logit', label: 'logit " the"' });
    expect(b.features[1].excluded).toBeGreaterThan(0);
    const a = read(alone);
    expect(a.pairs).toEqual([]);
    expect(JSON.stringify(a.features)).toBe(JSON.stringify(lib.features));
    expect(ra.stdout.split('\n')[0]).toMatch(/^target\s+windows\s+excluded\s+mean\s+max\s+p99\s+best text$/);
    expect(ra.stdout).toMatch(/^neuron L1\.N3 /m);
    expect(rr.code).toBe(2);
    expect(rr.stderr).toMatch(/not a scan feature.*--layers/);
  });

  it('reads token budgets as integers, powers of ten or with k/M/G', () => {
    expect(parseTokens('100000')).toBe(100000);
    expect(parseTokens('1e8')).toBe(1e8);
    expect(parseTokens('100M')).toBe(1e8);
    expect(parseTokens('2.5k')).toBe(2500);
    for (const bad of ['0', '-5', 'lots', '1.5']) expect(() => parseTokens(bad), bad).toThrow(/--tokens: expected a whole number/);
  });
});
