// The sweep file: shipped files validate, defaults fill in, paths resolve against the file, and every
// malformed file fails with E_SWEEP_FILE at the right line and field path.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EPO_DEFAULTS } from '../../../core/epo/config.js';
import { isUserError } from '../../../core/errors.js';
import { SweepFileError, loadSweepFile, parseSweep, residStudy, type SweepIssue } from '../../../core/sweep/spec.js';
import { sweepIdOf } from '../../../core/sweep/plan.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bad = (name: string) => path.join(root, 'test/fixtures/sweeps/bad', name);

/** The issues a failing parse reports; fails the test when it does not throw a SweepFileError. */
function issuesOf(run: () => unknown): SweepIssue[] {
  try {
    run();
  } catch (e) {
    expect(isUserError(e)).toBe(true);
    expect((e as SweepFileError).code).toBe('E_SWEEP_FILE');
    expect(e).toBeInstanceOf(SweepFileError);
    return (e as SweepFileError).issues;
  }
  throw new Error('expected a SweepFileError, but the sweep parsed');
}

const MINIMAL = `name: tiny
model: { path: models/m }
study:
  layers: [3, 1]
  vectors: { count: 2 }
methods:
  random:
storage: { uri: out }
`;

describe('shipped sweep files', () => {
  it('validates the paper study with Table 1 settings and placeholder buckets', () => {
    const s = loadSweepFile(path.join(root, 'sweeps/residual-stream.yaml'));
    expect(s.name).toBe('residual-stream');
    expect(s.study).toEqual({ layers: [4, 8, 12, 16, 20, 24, 28], vectors: { count: 50, seed: 0 }, seqLen: 12 });
    expect(s.methods.random).toEqual({ prompts: 1024, seed: 0, batchSize: 64 });
    expect(s.methods.scan?.tokens).toBe(100_000_000);
    expect(s.methods.scan?.corpus[0]).toMatch(/^s3:\/\//);
    expect(s.methods.epo).toMatchObject({ runsPerVector: 1, seeds: [0], iters: 300, population: 8, children: 32, topk: 512 });
    expect(s.methods.epo).toMatchObject({ restartEvery: 30, restartLambdaMin: 0.667, restartLambdaMax: 6, lambdaMin: 0.1, lambdaMax: 10 });
    expect(s.model.path).toMatch(/^s3:\/\//);
    expect(s.model.engine).toBe('torch'); // Pythia-12B: the torch engine on CUDA, not a CPU engine
    expect(s.storage.uri).toMatch(/^s3:\/\//);
    expect(s.temporal.address).toBeUndefined();
    expect(s.source).toBe(path.join(root, 'sweeps/residual-stream.yaml'));
  });

  it('validates the smoke sweep, whose paths point at committed fixtures', () => {
    const s = loadSweepFile(path.join(root, 'sweeps/smoke.yaml'));
    expect(s.model.path).toBe(path.join(root, 'test/fixtures/models/tiny-parallel'));
    expect(s.methods.scan?.corpus).toEqual([path.join(root, 'test/fixtures/corpus/smoke.jsonl')]);
    expect(s.storage.uri).toBe(path.join(root, '.state/smoke-artifacts'));
    expect(s.study).toEqual({ layers: [1, 2], vectors: { count: 2, seed: 0 }, seqLen: 6 });
    expect(s.methods.scan).toMatchObject({ tokens: 2000, shards: 2, top: 4 });
    expect(s.methods.epo).toMatchObject({ iters: 6, population: 4, children: 8, topk: 16, checkpointEvery: 2 });
    expect(s.targets.neurons).toEqual([{ layer: 1, index: 3 }]);
    expect(s.targets.tokens).toHaveLength(1);
    expect(s.concurrency.units).toBe(4);
  });

  it("validates the paper's neuron study: two Pythia-12B neurons, 60 seeds, a 500M-token scan keeping 64 windows, no residual study", () => {
    const s = loadSweepFile(path.join(root, 'sweeps/neuron-study.yaml'));
    const paper = loadSweepFile(path.join(root, 'sweeps/residual-stream.yaml'));
    expect(s.name).toBe('neuron-study');
    expect(s.model).toEqual(paper.model);
    expect(s.study).toEqual({ seqLen: 12 });
    expect(residStudy(s)).toBeUndefined();
    expect(s.methods.random).toBeUndefined();
    expect(s.methods.scan).toMatchObject({ tokens: 500_000_000, top: 64 });
    expect(s.methods.scan?.corpus[0]).toMatch(/^s3:\/\/your-bucket\//);
    // Table 1, as the residual study runs it (its seeds are the residual study's, unused here).
    const { seeds: _a, ...epo } = s.methods.epo!;
    const { seeds: _b, ...table1 } = paper.methods.epo!;
    expect(epo).toEqual(table1);
    expect(s.targets.neurons).toEqual([
      { layer: 10, index: 5 },
      { layer: 3, index: 1000 },
    ]);
    expect(s.targets.seeds).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(s.storage.uri).toMatch(/^s3:\/\/your-bucket\//);
  });

  it('ships the smoke corpus it names: 40 JSON lines with a text field', () => {
    const lines = readFileSync(path.join(root, 'test/fixtures/corpus/smoke.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(40);
    for (const line of lines) expect((JSON.parse(line) as { text: string }).text.length).toBeGreaterThan(40);
  });
});

describe('defaults', () => {
  it('fills in every default a minimal file leaves out', () => {
    const s = parseSweep(MINIMAL, '/sweeps/tiny.yaml');
    expect(s.model).toEqual({ path: '/sweeps/models/m', engine: 'auto' });
    expect(s.study).toEqual({ layers: [1, 3], vectors: { count: 2, seed: 0 }, seqLen: 12 });
    expect(s.methods).toEqual({ random: { prompts: 1024, seed: 0, batchSize: 64 } });
    expect(s.targets).toEqual({ neurons: [], tokens: [], seeds: [0] });
    expect(s.storage).toEqual({ uri: '/sweeps/out', region: 'us-east-1', forcePathStyle: false });
    expect(s.temporal).toEqual({ namespace: 'default', taskQueues: { model: 'dreamsweep-model', aux: 'dreamsweep-aux' }, heartbeatTimeout: 120 });
    expect(s.concurrency).toEqual({ units: 16 });
    expect(s.report).toEqual({ ceThreshold: 6, slack: [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4] });
    expect(s.source).toBe('/sweeps/tiny.yaml');
  });

  it('takes model.dtype with engine auto (the default: each worker decides) or torch, and refuses it with engine tfjs', () => {
    for (const model of ['{ path: models/m, dtype: float16 }', '{ path: models/m, engine: auto, dtype: float16 }', '{ path: models/m, engine: torch, dtype: float16 }']) {
      expect(parseSweep(MINIMAL.replace('{ path: models/m }', model), '/sweeps/tiny.yaml').model.dtype).toBe('float16');
    }
    const issues = issuesOf(() => parseSweep(MINIMAL.replace('{ path: models/m }', '{ path: models/m, engine: tfjs, dtype: float16 }'), '/s.yaml'));
    expect(issues[0]).toMatchObject({ path: 'model.dtype', message: expect.stringMatching(/no dtype with engine tfjs/) });
  });

  it('takes EPO defaults from EPO_DEFAULTS and numbers the seeds 0..runsPerVector-1', () => {
    const s = parseSweep(MINIMAL.replace('  random:\n', '  epo: { runsPerVector: 3 }\n'), '/sweeps/tiny.yaml');
    const { seqLen: _n, seed: _s, initIds: _i, initText: _t, ...knobs } = EPO_DEFAULTS;
    expect(s.methods.epo).toEqual({ ...knobs, runsPerVector: 3, seeds: [0, 1, 2] });
  });

  it('fills scan defaults and reads token counts written as 100M, 1.5k or 100_000_000', () => {
    for (const [written, tokens] of [
      ['100M', 100_000_000],
      ['"1.5k"', 1500],
      ['100_000_000', 100_000_000],
      ['2000', 2000],
    ] as const) {
      const s = parseSweep(MINIMAL.replace('  random:\n', `  scan: { corpus: c.jsonl, tokens: ${written} }\n`), '/sweeps/tiny.yaml');
      expect(s.methods.scan).toEqual({ corpus: ['/sweeps/c.jsonl'], textField: 'text', tokens, top: 16, shards: 1, batchSize: 64, skipBad: false });
    }
  });

  it("bans a token target's own text unless bannedText says otherwise", () => {
    const text = MINIMAL.replace('  random:\n', '  epo:\n') + 'targets:\n  tokens: [{ token: " Dog" }, { token: "#7" }, { token: " cat", bannedText: "" }]\n';
    expect(parseSweep(text, '/s.yaml').targets.tokens).toEqual([{ token: ' Dog', bannedText: 'Dog' }, { token: '#7' }, { token: ' cat' }]);
  });
});

describe('YAML features', () => {
  it('accepts anchors, aliases and merge keys', () => {
    const text = MINIMAL.replace('  random:\n', '  random: &r { prompts: 8 }\n  epo: { <<: *r, iters: 4 }\n').replace('prompts: 8', 'batchSize: 8');
    const s = parseSweep(text, '/s.yaml');
    expect(s.methods.random?.batchSize).toBe(8);
    expect(s.methods.epo).toMatchObject({ batchSize: 8, iters: 4 });
  });

  it('keeps the example in docs/sweep-file.md valid', () => {
    const doc = readFileSync(path.join(root, 'docs/sweep-file.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const fromDoc = parseSweep(example!, path.join(root, 'sweeps/smoke.yaml'));
    expect(fromDoc).toEqual(loadSweepFile(path.join(root, 'sweeps/smoke.yaml')));
  });
});

describe('paths', () => {
  it("resolves local paths against the sweep file's directory and leaves s3:// URIs alone", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sweep-'));
    const file = path.join(dir, 'nested', 'x.yaml');
    const text = `name: paths
model: { path: ../models/m }
study: { layers: [0], vectors: { file: vec.json } }
methods:
  scan: { corpus: [data/*.jsonl, /abs/c.txt, s3://bkt/pile/*.zst], tokens: 10 }
storage: { uri: s3://bkt/out, endpoint: http://127.0.0.1:9000, forcePathStyle: true }
temporal: { tls: { serverName: tmprl, serverRootCACertificate: ca.pem, clientCert: certs/c.pem, clientKey: certs/c.key } }
`;
    const s = parseSweep(text, file);
    expect(s.model.path).toBe(path.join(dir, 'models/m'));
    expect(s.study.vectors).toEqual({ file: path.join(dir, 'nested/vec.json') });
    expect(s.methods.scan?.corpus).toEqual([path.join(dir, 'nested/data/*.jsonl'), '/abs/c.txt', 's3://bkt/pile/*.zst']);
    expect(s.storage.uri).toBe('s3://bkt/out');
    expect(s.temporal.tls).toEqual({
      serverName: 'tmprl',
      serverRootCACertificate: path.join(dir, 'nested/ca.pem'),
      clientCert: path.join(dir, 'nested/certs/c.pem'),
      clientKey: path.join(dir, 'nested/certs/c.key'),
    });
    writeFileSync(path.join(dir, 'y.yaml'), MINIMAL);
    expect(loadSweepFile(path.join(dir, 'y.yaml')).storage.uri).toBe(path.join(dir, 'out'));
  });

  it('resolves against the file even when it is named relative to the working directory', () => {
    const s = parseSweep(MINIMAL, 'sweeps/tiny.yaml');
    expect(s.source).toBe(path.resolve('sweeps/tiny.yaml'));
    expect(s.model.path).toBe(path.resolve('sweeps/models/m'));
  });
});

describe('malformed sweep files', () => {
  // file, then the line and field path of the (first) problem; `match` checks the part users act on.
  const cases: Array<{ file: string; line: number; col?: number; path: string; match: RegExp }> = [
    { file: 'syntax-error.yaml', line: 6, path: '', match: /YAML syntax error/ },
    { file: 'duplicate-key.yaml', line: 7, col: 3, path: '', match: /DUPLICATE_KEY/ },
    { file: 'unknown-key.yaml', line: 10, col: 5, path: 'methods.epo.lamdaMin', match: /did you mean "lambdaMin"/ },
    { file: 'misplaced-key.yaml', line: 10, col: 5, path: 'methods.epo.seqLen', match: /study\.seqLen/ },
    { file: 'wrong-type.yaml', line: 7, col: 11, path: 'study.seqLen', match: /got "twelve" \(string\)/ },
    { file: 'negative-layer.yaml', line: 5, col: 15, path: 'study.layers[1]', match: /integer >= 0, got -2/ },
    { file: 'empty-layers.yaml', line: 5, path: 'study.layers', match: /at least one layer/ },
    { file: 'missing-model.yaml', line: 2, path: 'model', match: /got nothing/ },
    { file: 'epo-lambda-order.yaml', line: 9, path: 'methods.epo.lambdaMin', match: /lambdaMin <= lambdaMax/ },
    { file: 'epo-seeds-length.yaml', line: 10, path: 'methods.epo.seeds', match: /2 seeds/ },
    { file: 'storage-uri.yaml', line: 9, col: 8, path: 'storage.uri', match: /not gs:\/\// },
    { file: 'scan-tokens.yaml', line: 10, path: 'methods.scan.tokens', match: /got "lots"/ },
    { file: 'targets-without-epo.yaml', line: 7, path: 'methods.epo', match: /epo/ },
    { file: 'bad-name.yaml', line: 2, col: 7, path: 'name', match: /e\.g\. residual-stream/ },
  ];

  it.each(cases)('$file fails at line $line, $path', ({ file, line, col, path: field, match }) => {
    const issues = issuesOf(() => loadSweepFile(bad(file)));
    const first = issues[0]!;
    expect(first.file).toBe(bad(file));
    expect(first.line).toBe(line);
    if (col !== undefined) expect(first.col).toBe(col);
    expect(first.path).toBe(field);
    expect(first.message).toMatch(match);
  });

  it('puts FILE:LINE:COL and the field path at the start of each message line', () => {
    try {
      loadSweepFile(bad('negative-layer.yaml'));
    } catch (e) {
      expect((e as Error).message).toMatch(/^\/.*negative-layer\.yaml:5:15 study\.layers\[1\]: expected .*, got -2 \(number\); .+$/);
      return;
    }
    throw new Error('expected an error');
  });

  it('reports every problem of a file, one line each, in file order', () => {
    const issues = issuesOf(() => loadSweepFile(bad('many-problems.yaml')));
    expect(issues.map((i) => [i.line, i.path])).toEqual([
      [3, 'model.backend'],
      [5, 'study.layers[1]'],
      [6, 'study.vectors.count'],
      [8, 'methods.random.prompts'],
      [9, 'storage.endpoint'],
      [10, 'concurrency.units'],
    ]);
    let message = '';
    try {
      loadSweepFile(bad('many-problems.yaml'));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toHaveLength(6);
  });

  it('names a missing file with E_SWEEP_FILE', () => {
    const [issue] = issuesOf(() => loadSweepFile(bad('no-such-file.yaml')));
    expect(issue!.message).toMatch(/no such file/);
  });

  it('rejects an empty file, a list, and several documents', () => {
    expect(issuesOf(() => parseSweep('', 'e.yaml'))[0]!.message).toMatch(/empty file/);
    expect(issuesOf(() => parseSweep('- a\n', 'l.yaml'))[0]).toMatchObject({ line: 1, path: '(top level)' });
    expect(issuesOf(() => parseSweep(MINIMAL + '---\nname: b\n', 'm.yaml'))[0]).toMatchObject({ line: 9, message: expect.stringMatching(/MULTIPLE_DOCS/) });
  });

  it('checks cross-field rules: methods present, vectors count or file, EPO lambdas, TLS pairs, endpoint needs s3', () => {
    const at = (text: string) => issuesOf(() => parseSweep(text, 'x.yaml')).map((i) => i.path);
    expect(at(MINIMAL.replace('methods:\n  random:\n', ''))).toEqual(['methods']);
    expect(at(MINIMAL.replace('{ count: 2 }', '{ seed: 2 }'))).toEqual(['study.vectors.count']);
    expect(at(MINIMAL.replace('{ count: 2 }', '{ count: 2, file: v.json }'))).toEqual(['study.vectors.file']);
    expect(at(MINIMAL.replace('  random:\n', '  epo: { lambdaMin: 0 }\n'))).toEqual(['methods.epo.lambdaMin']);
    expect(parseSweep(MINIMAL.replace('  random:\n', '  epo: { population: 1, lambdaMin: 0, lambdaMax: 0 }\n'), 'gcg.yaml').methods.epo?.population).toBe(1);
    expect(at(MINIMAL.replace('  random:\n', '  epo: { restartLambdaMin: 7 }\n'))).toEqual(['methods.epo.restartLambdaMin']);
    expect(at(`${MINIMAL}temporal: { tls: { clientCert: c.pem } }\n`)).toEqual(['temporal.tls.clientKey']);
    expect(at(MINIMAL.replace('{ uri: out }', '{ uri: out, endpoint: "http://h:9000" }'))).toEqual(['storage.endpoint']);
    expect(at(MINIMAL.replace('layers: [3, 1]', 'layers: [3, 1, 3]'))).toEqual(['study.layers[2]']);
  });

  it('suggests the known key for case, underscore and spelling slips', () => {
    const msg = (key: string) => issuesOf(() => parseSweep(MINIMAL.replace('  random:\n', `  random: { ${key}: 1 }\n`), 'x.yaml'))[0]!.message;
    expect(msg('batch_size')).toMatch(/did you mean "batchSize"/);
    expect(msg('Prompts')).toMatch(/did you mean "prompts"/);
    expect(msg('sede')).toMatch(/did you mean "seed"/);
    expect(msg('zzzzzz')).toMatch(/the keys here are prompts, seed, batchSize/);
  });

  it('points at the value of a key written in flow style, and at the key when the value is missing', () => {
    const [i] = issuesOf(() => parseSweep(MINIMAL.replace('{ uri: out }', '{ uri: out, region: 7 }'), 'x.yaml'));
    expect(i).toMatchObject({ line: 8, col: 30, path: 'storage.region' });
    const [j] = issuesOf(() => parseSweep(MINIMAL.replace('model: { path: models/m }', 'model:'), 'x.yaml'));
    expect(j).toMatchObject({ line: 2, col: 1, path: 'model' });
  });
});

describe('a sweep of targets alone (no residual study)', () => {
  const TARGETS = `name: t
model: { path: /m }
methods: { scan: { corpus: /c.jsonl, tokens: 100 }, epo: {} }
targets: { neurons: [{ layer: 1, index: 3 }], tokens: [" dog"] }
storage: { uri: /s }
`;
  const at = (text: string) => issuesOf(() => parseSweep(text, 'x.yaml')).map((i) => [i.line, i.path, i.message]);

  it('takes study left out, empty, or holding only seqLen: no layers, no vectors, seqLen 12 unless given', () => {
    const absent = parseSweep(TARGETS, '/x.yaml');
    expect(absent.study).toEqual({ seqLen: 12 });
    expect(Object.keys(absent.study)).toEqual(['seqLen']);
    expect(residStudy(absent)).toBeUndefined();
    const empty = parseSweep(`${TARGETS}study: {}\n`, '/x.yaml');
    const twelve = parseSweep(`${TARGETS}study: { seqLen: 12 }\n`, '/x.yaml');
    expect(sweepIdOf(empty)).toBe(sweepIdOf(absent));
    expect(sweepIdOf(twelve)).toBe(sweepIdOf(absent));
    expect(parseSweep(`${TARGETS}study: { seqLen: 8 }\n`, '/x.yaml').study).toEqual({ seqLen: 8 });
    expect(residStudy(parseSweep(MINIMAL, '/x.yaml'))).toEqual({ layers: [1, 3], vectors: { count: 2, seed: 0 }, seqLen: 12 });
  });

  it('refuses a sweep with neither a study nor a target, at the study, with both fixes', () => {
    const none = 'name: t\nmodel: { path: /m }\nmethods: { scan: { corpus: /c.jsonl, tokens: 100 } }\nstorage: { uri: /s }\n';
    expect(at(none)).toEqual([
      [
        1,
        'study.layers',
        expect.stringMatching(/^expected a residual study \(study\.layers and study\.vectors\) or at least one target .*got nothing; add `study: .*targets: \{ neurons:/),
      ],
    ]);
    // With only seqLen: at the study key, and one line (not the methods rule's as well).
    expect(at(`${none.replace('methods: { scan: { corpus: /c.jsonl, tokens: 100 } }\n', '')}study:\n  seqLen: 8\n`)).toEqual([
      [4, 'study.layers', expect.stringMatching(/got nothing/)],
    ]);
  });

  it("refuses methods.random without a study (it is the residual directions' z reference) and targets without methods.epo", () => {
    expect(at(TARGETS.replace('methods: {', 'methods: { random: {},'))).toEqual([
      [3, 'methods.random', expect.stringMatching(/^expected no random baseline without a study, got .*remove methods\.random/)],
    ]);
    expect(at(TARGETS.replace(', epo: {}', ''))).toEqual([[3, 'methods.epo', expect.stringMatching(/an epo section/)]]);
  });

  it('refuses layers without vectors and vectors without layers', () => {
    expect(at(`${TARGETS}study: { layers: [1] }\n`)).toEqual([[6, 'study.vectors', expect.stringMatching(/^expected vectors beside layers, got nothing/)]]);
    expect(at(`${TARGETS}study: { vectors: { count: 2 } }\n`)).toEqual([[6, 'study.layers', expect.stringMatching(/^expected layers beside vectors, got nothing/)]]);
  });
});

describe('seeds', () => {
  const withSeeds = (targets: string, epo = '{}') =>
    parseSweep(`${MINIMAL}targets: { neurons: [{ layer: 1, index: 0 }], seeds: ${targets} }\n`.replace('  random:\n', `  epo: ${epo}\n`), '/x.yaml');

  it('takes a range or one seed as neuron indices are written, expanded to the list a file of them gives (the same sweep)', () => {
    const range = withSeeds('0..59');
    expect(range.targets.seeds).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(sweepIdOf(range)).toBe(sweepIdOf(withSeeds(`[${range.targets.seeds.join(', ')}]`)));
    expect(withSeeds('3').targets.seeds).toEqual([3]);
    expect(withSeeds('[0]', '{ runsPerVector: 2, seeds: 4..5 }').methods.epo?.seeds).toEqual([4, 5]);
  });

  it('refuses a backward range, a repeat, an empty list and a negative seed', () => {
    const bad = (seeds: string) => issuesOf(() => withSeeds(seeds)).map((i) => [i.path, i.message]);
    expect(bad('59..0')).toEqual([['targets.seeds', expect.stringMatching(/runs backwards; write 0\.\.59/)]]);
    expect(bad('[1, 2, 1]')).toEqual([['targets.seeds', expect.stringMatching(/1 appears twice/)]]);
    expect(bad('[]')).toEqual([['targets.seeds', expect.stringMatching(/the list is empty/)]]);
    expect(bad('[-1]')).toEqual([['targets.seeds', expect.stringMatching(/item \[0\] \(-1\)/)]]);
  });
});

describe('old sweep files', () => {
  it('parse to the spec, byte for byte, and the sweep ID they had before the study became optional', () => {
    // Written by the code before (commit efd9cd6): a new key, or another order, would change plans and IDs.
    const spec = parseSweep(
      `name: s
model: { path: /m }
study: { layers: [2, 1], vectors: { file: /v.safetensors, tensor: W, rows: 0..3, layer: 1 }, seqLen: 4 }
methods: { random: {}, scan: { corpus: /c.jsonl, tokens: 100, shards: 3 }, epo: { runsPerVector: 2, seeds: [0, 3] } }
targets: { neurons: [{ layer: 1, index: 0..2 }], tokens: [" dog"], seeds: [1, 2] }
storage: { uri: /s }`,
      '/tmp/s.yaml',
    );
    expect(JSON.stringify(spec)).toBe(
      '{"name":"s","model":{"path":"/m","engine":"auto"},"study":{"layers":[1,2],"vectors":{"file":"/v.safetensors","tensor":"W","rows":{"from":0,"to":3},"layer":1},"seqLen":4},' +
        '"methods":{"random":{"prompts":1024,"seed":0,"batchSize":64},"scan":{"corpus":["/c.jsonl"],"textField":"text","tokens":100,"top":16,"shards":3,"batchSize":64,"skipBad":false},' +
        '"epo":{"runsPerVector":2,"seeds":[0,3],"iters":300,"population":8,"children":32,"topk":512,"lambdaMin":0.1,"lambdaMax":10,"restartEvery":30,"restartLambdaMin":0.667,"restartLambdaMax":6,"batchSize":256,"retokenize":false,"checkpointEvery":10}},' +
        '"targets":{"neurons":[{"layer":1,"index":0},{"layer":1,"index":1},{"layer":1,"index":2}],"tokens":[{"token":" dog","bannedText":"dog"}],"seeds":[1,2]},' +
        '"storage":{"uri":"/s","region":"us-east-1","forcePathStyle":false},"temporal":{"namespace":"default","taskQueues":{"model":"dreamsweep-model","aux":"dreamsweep-aux"},"heartbeatTimeout":120},' +
        '"concurrency":{"units":16},"report":{"ceThreshold":6,"slack":[0,0.5,1,1.5,2,2.5,3,3.5,4]},"source":"/tmp/s.yaml"}',
    );
    expect(sweepIdOf(spec)).toBe('s-8dad67581584');
  });
});
