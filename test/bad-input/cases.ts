// The bad-input campaign as a table: each case sets up its inputs in a sandbox directory, names the command
// line, and the error code it must end with. test/bad-input/cli.test.ts runs them and checks, for each, exit 2,
// the code, no stack trace, and that nothing in the sandbox was created or changed.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from '../../core/epo/checkpoint.js';
import { encodeTensors } from '../../core/tensor-file.js';

export const REPO = path.join(import.meta.dirname, '../..');
export const MODEL = path.join(REPO, 'test/fixtures/models/tiny-parallel');
export const CORPUS = path.join(REPO, 'test/fixtures/corpus/smoke.jsonl');
const D_MODEL = 32;

export interface BadCase {
  group: string;
  name: string;
  /** Files to create in the sandbox before the run (and before the "nothing changed" snapshot). */
  setup?: (dir: string) => void;
  args: (dir: string) => string[];
  /** The bracketed code the last line must carry (E_CLI_USAGE for commander's own usage errors). */
  code: string;
  /** Run as a real child process (commands that install process-wide state, like a Temporal runtime). */
  spawn?: boolean;
  env?: Record<string, string>;
}

const vec = (x: number) => Array.from({ length: D_MODEL }, () => x);
const json = (dir: string, name: string, value: unknown) => writeFileSync(path.join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));

/** A copy of the fixture model in `dir/model`, with `edit` applied. */
function brokenModel(dir: string, edit: (m: string) => void): void {
  const m = path.join(dir, 'model');
  mkdirSync(m, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) copyFileSync(path.join(MODEL, f), path.join(m, f));
  edit(m);
}
const editConfig = (m: string, change: (c: Record<string, unknown>) => unknown) => {
  const c = JSON.parse(readFileSync(path.join(m, 'config.json'), 'utf8'));
  writeFileSync(path.join(m, 'config.json'), JSON.stringify(change(c) ?? c));
};
/** Rewrites the safetensors header (same length, padded with spaces) so data stays where it was. */
const editHeader = (m: string, change: (h: Record<string, { data_offsets: [number, number]; shape: number[]; dtype: string }>) => void) => {
  const file = path.join(m, 'model.safetensors');
  const buf = readFileSync(file);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8'));
  change(header);
  const text = JSON.stringify(header);
  if (text.length > len) throw new Error('edited header is longer than the original');
  buf.write(text.padEnd(len, ' '), 8, 'utf8');
  writeFileSync(file, buf);
};

// --threads 1: the in-process epo cases share this process's one tfjs load (a pool loads tfjs again in each of its
// threads, 2 s a case); POOLED cases keep the pool, the default.
const ONE_THREAD = ['--threads', '1'];
// --topk 16: the default (512) is more than the fixture's 320 tokens.
const epo = (dir: string, extra: string[] = [], model = MODEL) => [
  'epo',
  '--model',
  model,
  '--objective',
  'resid:1:random:0',
  '--out',
  path.join(dir, 'out'),
  '--iters',
  '2',
  '--topk',
  '16',
  '--quiet',
  ...ONE_THREAD,
  ...extra,
];
/** The default's worker-thread pool (commander keeps the last --threads): its threads' errors must surface as cleanly. */
const POOLED = ['--threads', '2'];
const baseline = (dir: string, extra: string[], model = MODEL) => ['baseline', 'random', '--model', model, '--out', path.join(dir, 'out'), '--prompts', '4', '--quiet', ...extra];
const scan = (dir: string, extra: string[] = [], { model = MODEL, corpus = CORPUS } = {}) => [
  'scan',
  '--model',
  model,
  '--corpus',
  corpus,
  '--out',
  path.join(dir, 'out'),
  '--quiet',
  '--random-vectors',
  '1',
  '--layers',
  '1',
  ...extra,
];
const inspect = (extra: string[], model = MODEL) => ['inspect', '--model', model, ...extra];

// A sweep file as a free-form YAML document, edited into each bad shape: untyped on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

/** A sweep file in the sandbox: the smoke sweep's shape, with `change` applied. */
function sweepFile(dir: string, change: (s: Doc) => void = () => {}): void {
  const s: Doc = {
    name: 'bad',
    model: { path: MODEL, engine: 'tfjs' },
    study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 6 },
    methods: { random: { prompts: 8, seed: 0, batchSize: 8 } },
    storage: { uri: path.join(dir, 'store') },
  };
  change(s);
  writeFileSync(path.join(dir, 'sweep.yaml'), stringify(s));
}
const launch = (dir: string) => ['sweep', 'launch', path.join(dir, 'sweep.yaml'), '--temporal-address', '127.0.0.1:1'];
/** No address: the embedded default, whose checks of local files must refuse before any server starts. */
const launchEmbedded = (dir: string) => ['sweep', 'launch', path.join(dir, 'sweep.yaml')];

export const CASES: BadCase[] = [
  // --- CLI arguments: commander's own usage errors and the options' parsers
  ...[
    ['unknown command', ['frobnicate']],
    ['unknown option', ['epo', '--frobnicate']],
    ['epo without --model', ['epo', '--objective', 'resid:1:random:0', '--out', 'x']],
    ['scan without --corpus', ['scan', '--model', MODEL, '--out', 'x']],
    ['bad --backend choice', ['epo', '--model', MODEL, '--objective', 'x', '--out', 'x', '--backend', 'cuda']],
    ['baseline without a subcommand argument', ['baseline', 'random']],
    ['sweep status without an ID', ['sweep', 'status']],
    ['report without a sweep', ['report']],
  ].map(([name, args]): BadCase => ({ group: 'cli arguments', name: name as string, args: () => args as string[], code: 'E_CLI_USAGE' })),
  ...[
    ['--iters not a number', ['--iters', 'ten']],
    ['--iters fractional', ['--iters', '2.5']],
    ['--population zero', ['--population', '0']],
    ['--population negative', ['--population', '-3']],
    ['--children zero', ['--children', '0']],
    ['--topk zero', ['--topk', '0']],
    ['--topk beyond the vocabulary', ['--topk', '100000']],
    ['--seq-len zero', ['--seq-len', '0']],
    ['--seq-len past max_position_embeddings', ['--seq-len', '65']],
    ['--batch-size zero', ['--batch-size', '0']],
    ['--lambda-min not a number', ['--lambda-min', 'abc']],
    ['--lambda-min above --lambda-max', ['--lambda-min', '5', '--lambda-max', '1']],
    ['--lambda-min zero with a population', ['--lambda-min', '0']],
    ['--checkpoint-every negative', ['--checkpoint-every', '-2']],
    ['--init-ids wrong length', ['--init-ids', '1,2,3']],
    ['--init-ids outside the vocabulary', ['--init-ids', Array(12).fill('99999').join(',')]],
    ['--init-ids not numbers', ['--init-ids', 'a,b']],
    ['--init-ids and --init-text', ['--init-ids', Array(12).fill('1').join(','), '--init-text', 'hello']],
    ['--banned-text empty', ['--banned-text', '']],
    ['--restart-every negative', ['--restart-every', '-1']],
  ].map(([name, extra]): BadCase => ({
    group: 'epo options',
    name: name as string,
    args: (d) => epo(d, extra as string[]),
    code: (name as string).includes('max_position') ? 'E_SEQ_LEN' : (name as string).startsWith('--iters') || (name as string).includes('not') ? 'E_CLI' : 'E_EPO_CONFIG',
  })),
  ...[
    ['objective: unknown kind', 'bogus:1:2'],
    ['objective: resid layer out of range', 'resid:9:random:0'],
    ['objective: resid layer negative', 'resid:-1:random:0'],
    ['objective: neuron index out of range', 'neuron:1:9999'],
    ['objective: neuron layer out of range', 'neuron:5:1'],
    ['objective: logit id out of range', 'logit:#99999'],
    ['objective: logit text of several tokens', 'logit:hello world and more'],
    ['objective: resid vectors file missing', 'resid:1:/nonexistent/vectors.json#0'],
    ['objective: empty', ''],
  ].map(([name, spec]): BadCase => ({
    group: 'objectives',
    name: name as string,
    args: (d) => ['epo', '--model', MODEL, '--objective', spec as string, '--out', path.join(d, 'out'), '--iters', '2', '--topk', '16', '--quiet', ...ONE_THREAD],
    code: (name as string).includes('vectors file') ? 'E_VECTORS_FILE' : 'E_OBJECTIVE',
  })),

  // --- vectors files (through scan's --vectors and epo's resid:L:file#i)
  ...(
    [
      ['all zeros', { '1': [vec(0)] }, 'E_VECTORS_VALUE'],
      ['underflows to zero in float32', { '1': [vec(1e-50)] }, 'E_VECTORS_VALUE'],
      ['overflows float32', { '1': [vec(1e308)] }, 'E_VECTORS_VALUE'],
      ['one entry overflows', { '1': [[...vec(0.1).slice(1), 1e39]] }, 'E_VECTORS_VALUE'],
      ['empty list for a layer', { '1': [] }, 'E_VECTORS_FILE'],
      ['wrong dimension', { '1': [vec(0.1).slice(1)] }, 'E_VECTORS_FILE'],
      ['strings in a vector', { '1': [vec(0.1).map(String)] }, 'E_VECTORS_FILE'],
      ['a list, not a mapping', [[vec(0.1)]], 'E_VECTORS_FILE'],
      ['layer key not a number', { one: [vec(0.1)] }, 'E_VECTORS_FILE'],
      ['not JSON', '{"1": [[0.1,', 'E_VECTORS_FILE'],
      ['vectors not a list', { '1': 'up' }, 'E_VECTORS_FILE'],
    ] as Array<[string, unknown, string]>
  ).flatMap(([name, body, code]): BadCase[] => [
    {
      group: 'vectors files',
      name: `scan: ${name}`,
      setup: (d) => json(d, 'v.json', body),
      args: (d) => ['scan', '--model', MODEL, '--corpus', CORPUS, '--out', path.join(d, 'out'), '--quiet', '--vectors', path.join(d, 'v.json')],
      code,
    },
    {
      group: 'vectors files',
      name: `epo: ${name}`,
      setup: (d) => json(d, 'v.json', body),
      args: (d) => [
        'epo',
        '--model',
        MODEL,
        '--objective',
        `resid:1:${path.join(d, 'v.json')}#0`,
        '--out',
        path.join(d, 'out'),
        '--iters',
        '2',
        '--topk',
        '16',
        '--quiet',
        ...ONE_THREAD,
      ],
      code,
    },
  ]),
  {
    group: 'vectors files',
    name: 'baseline: zero vector',
    setup: (d) => json(d, 'v.json', { '1': [vec(0)] }),
    args: (d) => baseline(d, ['--vectors', path.join(d, 'v.json')]),
    code: 'E_VECTORS_VALUE',
  },
  { group: 'vectors files', name: 'baseline: missing file', args: (d) => baseline(d, ['--vectors', path.join(d, 'none.json')]), code: 'E_VECTORS_FILE' },
  {
    group: 'vectors files',
    name: 'scan: --layers not in the file',
    setup: (d) => json(d, 'v.json', { '1': [vec(0.1)] }),
    args: (d) => ['scan', '--model', MODEL, '--corpus', CORPUS, '--out', path.join(d, 'out'), '--quiet', '--vectors', path.join(d, 'v.json'), '--layers', '2'],
    code: 'E_CLI',
  },

  // --- model directories
  { group: 'model directories', name: 'missing directory', args: (d) => epo(d, [], path.join(d, 'nope')), code: 'E_MODEL_MISSING_FILE' },
  {
    group: 'model directories',
    name: 'model.safetensors is a directory',
    setup: (d) =>
      brokenModel(d, (m) => {
        rmSync(path.join(m, 'model.safetensors'));
        mkdirSync(path.join(m, 'model.safetensors'));
      }),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_MISSING_FILE',
  },
  { group: 'model directories', name: 'a file, not a directory', setup: (d) => json(d, 'm', 'x'), args: (d) => epo(d, [], path.join(d, 'm')), code: 'E_MODEL_MISSING_FILE' },
  {
    group: 'model directories',
    name: 'config.json not JSON',
    setup: (d) => brokenModel(d, (m) => writeFileSync(path.join(m, 'config.json'), '{')),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CONFIG',
  },
  {
    group: 'model directories',
    name: 'config.json a list',
    setup: (d) => brokenModel(d, (m) => writeFileSync(path.join(m, 'config.json'), '[]')),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CONFIG',
  },
  {
    group: 'model directories',
    name: 'an architecture dreamsweep does not run',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => ({ ...c, model_type: 'bert', architectures: ['BertForMaskedLM'] }))),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_ARCH',
  },
  {
    group: 'model directories',
    name: 'hidden_size not a multiple of the heads',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => ({ ...c, num_attention_heads: 5 }))),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CONFIG',
  },
  {
    group: 'model directories',
    name: 'negative layer count',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => ({ ...c, num_hidden_layers: -2 }))),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CONFIG',
  },
  {
    group: 'model directories',
    name: 'relu activation',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => ({ ...c, hidden_act: 'relu' }))),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CONFIG',
  },
  {
    group: 'model directories',
    name: 'negative layer_norm_eps',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => ({ ...c, layer_norm_eps: -1e-5 }))),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CONFIG',
  },
  {
    group: 'model directories',
    name: 'zero rotary base',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => ({ ...c, rotary_emb_base: 0 }))),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CONFIG',
  },
  {
    group: 'model directories',
    name: 'scaled rope',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => ({ ...c, rope_scaling: { rope_type: 'linear', factor: 2 } }))),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CONFIG',
  },
  {
    group: 'model directories',
    name: 'config says more layers than the weights',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => ({ ...c, num_hidden_layers: 3 }))),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_MISSING_TENSOR',
  },
  {
    group: 'model directories',
    name: 'config says a wider model',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => ({ ...c, hidden_size: 64 }))),
    args: (d) => epo(d, POOLED, path.join(d, 'model')),
    code: 'E_MODEL_SHAPE',
  },
  {
    group: 'model directories',
    name: 'no weights',
    setup: (d) => brokenModel(d, (m) => writeFileSync(path.join(m, 'model.safetensors'), '')),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_TRUNCATED',
  },
  {
    group: 'model directories',
    name: 'truncated weights',
    setup: (d) =>
      brokenModel(d, (m) => {
        const f = path.join(m, 'model.safetensors');
        writeFileSync(f, readFileSync(f).subarray(0, 4000));
      }),
    args: (d) => epo(d, POOLED, path.join(d, 'model')),
    code: 'E_MODEL_TRUNCATED',
  },
  {
    group: 'model directories',
    name: 'weights header not JSON',
    setup: (d) =>
      brokenModel(d, (m) => {
        const f = path.join(m, 'model.safetensors');
        const b = readFileSync(f);
        b.write('{{{', 8);
        writeFileSync(f, b);
      }),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_TRUNCATED',
  },
  {
    group: 'model directories',
    name: 'overlapping data_offsets',
    setup: (d) =>
      brokenModel(d, (m) =>
        editHeader(m, (h) => {
          const keys = Object.keys(h)
            .filter((k) => k !== '__metadata__' && h[k]!.dtype === 'F32')
            .sort((a, b) => h[a]!.data_offsets[0] - h[b]!.data_offsets[0]);
          const [a, b] = [h[keys[0]!]!, h[keys[1]!]!];
          const len = b.data_offsets[1] - b.data_offsets[0];
          if (a.data_offsets[1] - a.data_offsets[0] < len) throw new Error('fixture');
          b.data_offsets = [a.data_offsets[0], a.data_offsets[0] + len];
        }),
      ),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CORRUPT',
  },
  {
    group: 'model directories',
    name: 'int8 tensor',
    setup: (d) =>
      brokenModel(d, (m) =>
        editHeader(m, (h) => {
          const k = Object.keys(h).find((x) => x !== '__metadata__')!;
          h[k]!.dtype = 'I8';
        }),
      ),
    args: (d) => epo(d, POOLED, path.join(d, 'model')),
    code: 'E_MODEL_DTYPE',
  },
  {
    group: 'model directories',
    name: 'shape disagrees with the bytes',
    setup: (d) =>
      brokenModel(d, (m) =>
        editHeader(m, (h) => {
          const k = Object.keys(h).find((x) => x !== '__metadata__')!;
          h[k]!.shape = [...h[k]!.shape, 2];
        }),
      ),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_SHAPE',
  },
  {
    group: 'model directories',
    name: 'no tokenizer.json',
    setup: (d) => brokenModel(d, (m) => writeFileSync(path.join(m, 'tokenizer.json'), '')),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_TOKENIZER',
  },
  {
    group: 'model directories',
    name: 'config.json is a directory',
    setup: (d) =>
      brokenModel(d, (m) => {
        writeFileSync(path.join(m, 'config.json.tmp'), '');
      }),
    args: (d) => {
      mkdirSync(path.join(d, 'm2', 'config.json'), { recursive: true });
      return epo(d, [], path.join(d, 'm2'));
    },
    code: 'E_MODEL_CONFIG',
  },
  { group: 'model directories', name: 'inspect: missing model', args: (d) => inspect(['--text', 'hi'], path.join(d, 'nope')), code: 'E_MODEL_MISSING_FILE' },
  {
    group: 'model directories',
    name: 'baseline: missing model',
    args: (d) => baseline(d, ['--random-vectors', '1', '--layers', '1'], path.join(d, 'nope')),
    code: 'E_MODEL_MISSING_FILE',
  },
  { group: 'model directories', name: 'scan: missing model', args: (d) => scan(d, [], { model: path.join(d, 'nope') }), code: 'E_MODEL_MISSING_FILE' },

  // --- baseline and scan options
  {
    group: 'baseline options',
    name: 'both --vectors and --random-vectors',
    setup: (d) => json(d, 'v.json', { '1': [vec(0.1)] }),
    args: (d) => baseline(d, ['--vectors', path.join(d, 'v.json'), '--random-vectors', '1']),
    code: 'E_CLI',
  },
  { group: 'baseline options', name: 'neither --vectors nor --random-vectors', args: (d) => baseline(d, ['--layers', '1']), code: 'E_CLI' },
  { group: 'baseline options', name: '--random-vectors without --layers', args: (d) => baseline(d, ['--random-vectors', '2']), code: 'E_CLI' },
  { group: 'baseline options', name: '--layers out of range', args: (d) => baseline(d, ['--random-vectors', '1', '--layers', '7']), code: 'E_CLI' },
  { group: 'baseline options', name: '--layers twice the same', args: (d) => baseline(d, ['--random-vectors', '1', '--layers', '1,1']), code: 'E_CLI' },
  { group: 'baseline options', name: '--layers not numbers', args: (d) => baseline(d, ['--random-vectors', '1', '--layers', 'one']), code: 'E_CLI' },
  { group: 'baseline options', name: '--prompts 1', args: (d) => baseline(d, ['--random-vectors', '1', '--layers', '1', '--prompts', '1']), code: 'E_CLI' },
  {
    group: 'baseline options',
    name: '--seq-len past max_position_embeddings',
    args: (d) => baseline(d, ['--random-vectors', '1', '--layers', '1', '--seq-len', '1000']),
    code: 'E_SEQ_LEN',
  },
  { group: 'baseline options', name: '--threads 0', args: (d) => baseline(d, ['--random-vectors', '1', '--layers', '1', '--threads', '0']), code: 'E_CLI' },
  { group: 'scan options', name: '--tokens not a count', args: (d) => scan(d, ['--tokens', 'lots']), code: 'E_CLI' },
  { group: 'scan options', name: '--tokens zero', args: (d) => scan(d, ['--tokens', '0']), code: 'E_CLI' },
  { group: 'scan options', name: '--seq-len 1', args: (d) => scan(d, ['--seq-len', '1']), code: 'E_CLI' },
  { group: 'scan options', name: '--seq-len past max_position_embeddings', args: (d) => scan(d, ['--seq-len', '65']), code: 'E_SEQ_LEN' },
  { group: 'scan options', name: '--stride 0', args: (d) => scan(d, ['--stride', '0']), code: 'E_CLI' },
  { group: 'scan options', name: '--batch-size 0', args: (d) => scan(d, ['--batch-size', '0']), code: 'E_CLI' },

  // --- corpora
  {
    group: 'corpora',
    name: 'missing file',
    args: (d) => scan(d, [], { corpus: path.join(d, 'none.jsonl') }),
    code: 'E_CORPUS_NOT_FOUND',
  },
  {
    group: 'corpora',
    name: 'glob matching nothing',
    args: (d) => scan(d, [], { corpus: path.join(d, '*.jsonl') }),
    code: 'E_CORPUS_EMPTY',
  },
  {
    group: 'corpora',
    name: 'empty directory',
    setup: (d) => mkdirSync(path.join(d, 'c')),
    args: (d) => scan(d, [], { corpus: path.join(d, 'c') }),
    code: 'E_CORPUS_EMPTY',
  },
  {
    group: 'corpora',
    name: 'unknown extension',
    setup: (d) => json(d, 'c.csv', 'a,b'),
    args: (d) => scan(d, [], { corpus: path.join(d, 'c.csv') }),
    code: 'E_CORPUS_FORMAT',
  },
  {
    group: 'corpora',
    name: 'jsonl line not JSON',
    setup: (d) => json(d, 'c.jsonl', '{"text": "hello world"}\n{oops\n'),
    args: (d) => scan(d, ['--seq-len', '2'], { corpus: path.join(d, 'c.jsonl') }),
    code: 'E_CORPUS_BAD_JSON',
  },
  {
    group: 'corpora',
    name: 'jsonl without the text field',
    setup: (d) => json(d, 'c.jsonl', '{"body": "hello world"}\n'),
    args: (d) => scan(d, ['--seq-len', '2'], { corpus: path.join(d, 'c.jsonl') }),
    code: 'E_CORPUS_MISSING_FIELD',
  },
  {
    group: 'corpora',
    name: 'zst that is not zstd',
    setup: (d) => json(d, 'c.jsonl.zst', 'plain text'),
    args: (d) => scan(d, ['--seq-len', '2'], { corpus: path.join(d, 'c.jsonl.zst') }),
    code: 'E_CORPUS_BAD_ZSTD',
  },

  // --- checkpoints and output directories
  { group: 'checkpoints', name: 'epo --resume without a run', args: (d) => epo(d, ['--resume']), code: 'E_EPO_RESUME' },
  {
    group: 'checkpoints',
    name: 'epo --resume of a checkpoint that is not safetensors',
    setup: (d) => {
      mkdirSync(path.join(d, 'out'));
      json(path.join(d, 'out'), 'checkpoint.safetensors', '{"iteration": 3}');
    },
    args: (d) => epo(d, ['--resume']),
    code: 'E_TENSOR_FILE',
  },
  ...(
    [
      ['state is not JSON', 'not json'],
      ["RNG state is not xoroshiro128+'s", JSON.stringify({ config: {}, iteration: 1, rng: [1, 2], population: [{ ids: [1], hasTopk: false }], info: {} })],
      ['population member has no ids', JSON.stringify({ config: {}, iteration: 1, rng: [1, 2, 3, 4], population: [{ hasTopk: false }], info: {} })],
    ] as Array<[string, string]>
  ).map(([what, state]): BadCase => ({
    group: 'checkpoints',
    name: `epo --resume of a checkpoint whose ${what}`,
    setup: (d) => {
      mkdirSync(path.join(d, 'out'));
      writeFileSync(path.join(d, 'out', 'checkpoint.safetensors'), encodeTensors({}, { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, state }));
    },
    args: (d) => epo(d, ['--resume']),
    code: 'E_CHECKPOINT_STATE',
  })),
  { group: 'checkpoints', name: 'scan --resume without a checkpoint', args: (d) => scan(d, ['--resume']), code: 'E_SCAN_RESUME_MISMATCH' },
  {
    group: 'checkpoints',
    name: 'scan --resume of a checkpoint that is not JSON',
    setup: (d) => {
      mkdirSync(path.join(d, 'out'));
      json(path.join(d, 'out'), 'checkpoint.json', '{');
    },
    args: (d) => scan(d, ['--resume']),
    code: 'E_SCAN_RESUME_MISMATCH',
  },
  {
    group: 'checkpoints',
    name: 'scan --resume of valid JSON with the wrong content',
    setup: (d) => {
      mkdirSync(path.join(d, 'out'));
      json(path.join(d, 'out'), 'checkpoint.json', { hello: 1 });
    },
    args: (d) => scan(d, ['--resume']),
    code: 'E_SCAN_RESUME_MISMATCH',
  },
  {
    group: 'checkpoints',
    name: 'scan over an unfinished scan without --resume',
    setup: (d) => {
      mkdirSync(path.join(d, 'out'));
      json(path.join(d, 'out'), 'checkpoint.json', { hello: 1 });
    },
    args: (d) => scan(d, []),
    code: 'E_SCAN_OUT_EXISTS',
  },
  {
    group: 'checkpoints',
    name: 'epo over a run without --resume',
    setup: (d) => {
      mkdirSync(path.join(d, 'out'));
      json(path.join(d, 'out'), 'checkpoint.safetensors', 'x');
    },
    args: (d) => epo(d),
    code: 'E_EPO_OUT_EXISTS',
  },
  { group: 'output directories', name: 'epo --out is a file', setup: (d) => json(d, 'out', 'x'), args: (d) => epo(d), code: 'E_FS' },
  {
    group: 'output directories',
    name: 'epo --out under a file',
    setup: (d) => json(d, 'f', 'x'),
    args: (d) => ['epo', '--model', MODEL, '--objective', 'resid:1:random:0', '--out', path.join(d, 'f', 'out'), '--iters', '2', '--topk', '16', '--quiet', ...ONE_THREAD],
    code: 'E_FS',
  },
  // (--out in a directory without write permission is not here: the CI runs as root, which may write anyway.)
  {
    group: 'output directories',
    name: 'baseline --out is a file',
    setup: (d) => json(d, 'out', 'x'),
    args: (d) => baseline(d, ['--random-vectors', '1', '--layers', '1']),
    code: 'E_FS',
  },
  { group: 'output directories', name: 'scan --out is a file', setup: (d) => json(d, 'out', 'x'), args: (d) => scan(d, []), code: 'E_FS' },

  // --- sweep files (refused before anything reaches Temporal; the address is unreachable on purpose)
  ...(
    [
      ['missing file', null, 'E_SWEEP_FILE'],
      ['no name', (s: Doc) => delete s.name, 'E_SWEEP_FILE'],
      ['name with spaces', (s: Doc) => (s.name = 'a b'), 'E_SWEEP_FILE'],
      ['no model', (s: Doc) => delete s.model, 'E_SWEEP_FILE'],
      ['layers empty', (s: Doc) => (s.study.layers = []), 'E_SWEEP_FILE'],
      ['layer negative', (s: Doc) => (s.study.layers = [-1]), 'E_SWEEP_FILE'],
      ['layers as a string', (s: Doc) => (s.study.layers = '1,2'), 'E_SWEEP_FILE'],
      ['vectors count zero', (s: Doc) => (s.study.vectors = { count: 0, seed: 0 }), 'E_SWEEP_FILE'],
      ['vectors both count and file', (s: Doc) => (s.study.vectors = { count: 1, file: 'v.json' }), 'E_SWEEP_FILE'],
      ['seqLen zero', (s: Doc) => (s.study.seqLen = 0), 'E_SWEEP_FILE'],
      ['no methods', (s: Doc) => (s.methods = {}), 'E_SWEEP_FILE'],
      ['unknown method', (s: Doc) => (s.methods.gradient = {}), 'E_SWEEP_FILE'],
      ['random prompts zero', (s: Doc) => (s.methods.random.prompts = 0), 'E_SWEEP_FILE'],
      ['scan tokens nonsense', (s: Doc) => (s.methods.scan = { corpus: CORPUS, tokens: 'lots', shards: 1, top: 4 }), 'E_SWEEP_FILE'],
      ['epo iters negative', (s: Doc) => (s.methods.epo = { runsPerVector: 1, iters: -1 }), 'E_SWEEP_FILE'],
      ['storage uri missing', (s: Doc) => delete s.storage, 'E_SWEEP_FILE'],
      ['unknown top-level key', (s: Doc) => (s.colour = 'blue'), 'E_SWEEP_FILE'],
      ['concurrency units zero', (s: Doc) => (s.concurrency = { units: 0 }), 'E_SWEEP_FILE'],
      ['heartbeat timeout negative', (s: Doc) => (s.temporal = { heartbeatTimeout: -5 }), 'E_SWEEP_FILE'],
      ['neither a study nor a target', (s: Doc) => ((s.study = { seqLen: 6 }), (s.methods = { epo: {} })), 'E_SWEEP_FILE'],
      ['random baseline without a study', (s: Doc) => (delete s.study, (s.methods.epo = {}), (s.targets = { neurons: [{ layer: 1, index: 3 }] })), 'E_SWEEP_FILE'],
      ['layers without vectors', (s: Doc) => delete s.study.vectors, 'E_SWEEP_FILE'],
      ['seeds range backwards', (s: Doc) => ((s.methods.epo = {}), (s.targets = { neurons: [{ layer: 1, index: 3 }], seeds: '5..0' })), 'E_SWEEP_FILE'],
    ] as Array<[string, ((s: Doc) => void) | null, string]>
  ).map(([name, change, code]): BadCase => ({
    group: 'sweep files',
    name,
    setup: change ? (d) => sweepFile(d, change) : undefined,
    args: (d) => launch(d),
    code,
  })),
  // Files the sweep names, checked on this machine before the embedded server starts (nothing left in .state).
  ...(
    [
      ['model path missing', (s: Doc) => (s.model.path = '/nonexistent/model'), 'E_MODEL_MISSING_FILE'],
      ['model directory without config.json', (s: Doc) => (s.model.path = path.join(REPO, 'test/fixtures')), 'E_MODEL_MISSING_FILE'],
      ['layer beyond the model', (s: Doc) => (s.study.layers = [7]), 'E_SWEEP_MODEL'],
      [
        'neuron index beyond the model',
        (s: Doc) => ((s.methods.epo = { runsPerVector: 1, iters: 2, population: 2, topk: 16 }), (s.targets = { neurons: [{ layer: 1, index: 9999 }], seeds: [0] })),
        'E_SWEEP_MODEL',
      ],
      ['seqLen past max_position_embeddings', (s: Doc) => (s.study.seqLen = 100), 'E_SEQ_LEN'],
      [
        'targets alone: neuron index beyond the model',
        (s: Doc) => ((s.study = { seqLen: 6 }), (s.methods = { epo: { iters: 2, population: 2, topk: 16 } }), (s.targets = { neurons: [{ layer: 1, index: 9999 }] })),
        'E_SWEEP_MODEL',
      ],
      [
        'targets alone: seqLen past max_position_embeddings',
        (s: Doc) => ((s.study = { seqLen: 100 }), (s.methods = { epo: { topk: 16 } }), (s.targets = { tokens: [' model'] })),
        'E_SEQ_LEN',
      ],
      ['vectors.count absurd', (s: Doc) => (s.study.vectors = { count: 1_000_000_000, seed: 0 }), 'E_SWEEP_TOO_LARGE'],
      ['vectors file missing', (s: Doc) => (s.study.vectors = { file: '/nonexistent/v.json' }), 'E_VECTORS_FILE'],
      ['scan corpus matching nothing', (s: Doc) => (s.methods.scan = { corpus: '/nonexistent/*.jsonl', tokens: 100, shards: 1, top: 4 }), 'E_CORPUS_EMPTY'],
      ['storage uri is a file', (s: Doc) => (s.storage.uri = CORPUS), 'E_SWEEP_STORAGE'],
      ['storage uri under a file', (s: Doc) => (s.storage.uri = path.join(CORPUS, 'store')), 'E_SWEEP_STORAGE'],
    ] as Array<[string, (s: Doc) => void, string]>
  ).map(([name, change, code]): BadCase => ({ group: 'sweep files (embedded)', name, setup: (d) => sweepFile(d, change), args: (d) => launchEmbedded(d), code })),
  {
    group: 'sweep files (embedded)',
    name: 'zero vector in the vectors file',
    setup: (d) => {
      json(d, 'v.json', { '1': [vec(0)] });
      sweepFile(d, (s) => (s.study.vectors = { file: path.join(d, 'v.json') }));
    },
    args: (d) => launchEmbedded(d),
    code: 'E_VECTORS_VALUE',
  },
  {
    group: 'sweep files (embedded)',
    name: 'vectors file lacks a study layer',
    setup: (d) => {
      json(d, 'v.json', { '2': [vec(0.1)] });
      sweepFile(d, (s) => (s.study.vectors = { file: path.join(d, 'v.json') }));
    },
    args: (d) => launchEmbedded(d),
    code: 'E_SWEEP_VECTORS',
  },
  { group: 'sweep files', name: 'not YAML', setup: (d) => json(d, 'sweep.yaml', 'name: [unclosed'), args: (d) => launch(d), code: 'E_SWEEP_FILE' },
  { group: 'sweep files', name: 'a YAML list', setup: (d) => json(d, 'sweep.yaml', '- 1\n- 2\n'), args: (d) => launch(d), code: 'E_SWEEP_FILE' },

  // --- storage and Temporal settings
  {
    group: 'storage',
    name: 'report: store directory missing',
    args: (d) => ['report', 'demo-123', '--store', path.join(d, 'none'), '--out', path.join(d, 'out')],
    code: 'E_REPORT_NO_PLAN',
  },
  { group: 'storage', name: 'report: bare ID without --store', args: (d) => ['report', 'demo-123', '--out', path.join(d, 'out')], code: 'E_CLI' },
  {
    group: 'storage',
    name: 'report: malformed plan',
    setup: (d) => {
      mkdirSync(path.join(d, 'st', 'sweeps', 's1'), { recursive: true });
      json(path.join(d, 'st', 'sweeps', 's1'), 'plan.json', '{"units": 3}');
    },
    args: (d) => ['report', path.join(d, 'st', 'sweeps', 's1'), '--out', path.join(d, 'out')],
    code: 'E_SWEEP_PLAN',
  },
  {
    group: 'storage',
    name: 'report: plan not JSON',
    setup: (d) => {
      mkdirSync(path.join(d, 'st', 'sweeps', 's1'), { recursive: true });
      json(path.join(d, 'st', 'sweeps', 's1'), 'plan.json', '{');
    },
    args: (d) => ['report', path.join(d, 'st', 'sweeps', 's1'), '--out', path.join(d, 'out')],
    code: 'E_SWEEP_PLAN',
  },
  {
    group: 'storage',
    name: 'scan: S3 endpoint unreachable',
    env: { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_MAX_ATTEMPTS: '1' },
    args: (d) => scan(d, ['--s3-endpoint', 'http://127.0.0.1:1', '--s3-region', 'us-east-1'], { corpus: 's3://bucket/corpus/' }),
    code: 'E_UNREACHABLE',
  },
  { group: 'temporal', name: 'sweep status: no server configured or running', args: () => ['sweep', 'status', 'x-1'], code: 'E_NO_TEMPORAL_RUNNING' },
  { group: 'temporal', name: 'sweep cancel: no server configured or running', args: () => ['sweep', 'cancel', 'x-1'], code: 'E_NO_TEMPORAL_RUNNING' },
  { group: 'temporal', name: 'sweep status: unreachable address', args: () => ['sweep', 'status', 'x-1', '--temporal-address', '127.0.0.1:1'], code: 'E_TEMPORAL_CONNECT' },
  {
    group: 'temporal',
    name: 'sweep launch: --temporal-bin not a file',
    setup: (d) => sweepFile(d),
    args: (d) => ['sweep', 'launch', path.join(d, 'sweep.yaml'), '--temporal-bin', path.join(d, 'nope')],
    code: 'E_TEMPORAL_BIN',
  },
  { group: 'temporal', name: 'sweep launch: --local-workers 0', setup: (d) => sweepFile(d), args: (d) => [...launch(d), '--local-workers', '0'], code: 'E_CLI' },
  {
    group: 'temporal',
    name: 'worker: unreachable Temporal',
    args: () => ['worker', '--temporal-address', '127.0.0.1:1', '--queues', 'q'],
    code: 'E_TEMPORAL_CONNECT',
    spawn: true,
  },
  { group: 'temporal', name: 'worker: --concurrency 0', args: () => ['worker', '--temporal-address', '127.0.0.1:1', '--concurrency', '0'], code: 'E_CLI' },
  { group: 'temporal', name: 'worker: --tls-cert without --tls-key', args: () => ['worker', '--temporal-address', '127.0.0.1:1', '--tls-cert', 'c.pem'], code: 'E_CLI' },
  { group: 'temporal', name: 'worker: --metrics-port not a port', args: () => ['worker', '--temporal-address', '127.0.0.1:1', '--metrics-port', '99999'], code: 'E_CLI' },
  {
    group: 'temporal',
    name: 'worker: --api-key-env unset',
    args: () => ['worker', '--temporal-address', '127.0.0.1:1', '--api-key-env', 'DREAMSWEEP_NO_SUCH_VAR'],
    code: 'E_TEMPORAL_API_KEY',
    spawn: true,
  },
  {
    group: 'temporal',
    name: 'worker: --tls-ca unreadable',
    args: (d) => ['worker', '--temporal-address', '127.0.0.1:1', '--tls-ca', path.join(d, 'none.pem')],
    code: 'E_TEMPORAL_TLS',
    spawn: true,
  },

  // --- the second campaign: inputs that crashed, ran, or were accepted before (first 11), then clean ones kept as regressions
  { group: 'cli arguments', name: 'inspect --top 0', args: () => ['inspect', '--model', MODEL, '--ids', '1,2', '--top', '0'], code: 'E_CLI' },
  { group: 'cli arguments', name: 'inspect --ids empty', args: () => ['inspect', '--model', MODEL, '--ids', ''], code: 'E_CLI_USAGE' },
  { group: 'cli arguments', name: 'inspect --ids with a trailing comma', args: () => ['inspect', '--model', MODEL, '--ids', '1,2,'], code: 'E_CLI_USAGE' },
  { group: 'baseline options', name: '--top 0', args: (d) => baseline(d, ['--random-vectors', '1', '--layers', '1', '--top', '0']), code: 'E_CLI' },
  { group: 'scan options', name: '--top 0', args: (d) => scan(d, ['--top', '0']), code: 'E_CLI' },
  {
    group: 'storage',
    name: 'report: --endpoint not a URL',
    args: (d) => ['report', 's3://bucket/p/sweeps/x', '--endpoint', 'not a url', '--out', path.join(d, 'out')],
    code: 'E_STORE_ENDPOINT',
  },
  {
    group: 'storage',
    name: 'scan: --s3-endpoint without a scheme',
    args: (d) => scan(d, ['--s3-endpoint', 'localhost:9000'], { corpus: 's3://bucket/corpus/' }),
    code: 'E_STORE_ENDPOINT',
  },
  {
    group: 'storage',
    name: 'report: AWS_ENDPOINT_URL not a URL',
    env: { AWS_ENDPOINT_URL: 'nope', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' },
    args: (d) => ['report', 's3://bucket/p/sweeps/x', '--out', path.join(d, 'out')],
    code: 'E_STORE_ENDPOINT',
  },
  { group: 'temporal', name: 'worker: --queues empty', args: () => ['worker', '--temporal-address', '127.0.0.1:1', '--queues', ''], code: 'E_CLI' },
  { group: 'temporal', name: 'worker: --queues only a comma', args: () => ['worker', '--temporal-address', '127.0.0.1:1', '--queues', ','], code: 'E_CLI' },
  {
    group: 'sweep files (embedded)',
    name: 'epo topk beyond the model',
    setup: (d) => sweepFile(d, (s) => (s.methods.epo = { runsPerVector: 1, iters: 2, population: 2, topk: 100000 })),
    args: (d) => launchEmbedded(d),
    code: 'E_SWEEP_MODEL',
  },
  { group: 'epo options', name: '--iters zero', args: (d) => epo(d, ['--iters', '0']), code: 'E_EPO_CONFIG' },
  { group: 'epo options', name: '--seed negative', args: (d) => epo(d, ['--seed', '-1']), code: 'E_EPO_CONFIG' },
  { group: 'epo options', name: '--restart-lambda-min above the max', args: (d) => epo(d, ['--restart-lambda-min', '5', '--restart-lambda-max', '1']), code: 'E_EPO_CONFIG' },
  {
    group: 'objectives',
    name: 'objective: vector index beyond the file',
    setup: (d) => json(d, 'v.json', { '1': [vec(0.1)] }),
    args: (d) => ['epo', '--model', MODEL, '--objective', `resid:1:${path.join(d, 'v.json')}#5`, '--out', path.join(d, 'out'), '--iters', '2', '--topk', '16', '--quiet'],
    code: 'E_OBJECTIVE',
  },
  {
    group: 'vectors files',
    name: 'epo: .npy that is not numpy',
    setup: (d) => json(d, 'v.npy', 'garbage'),
    args: (d) => ['epo', '--model', MODEL, '--objective', `resid:1:${path.join(d, 'v.npy')}#0`, '--out', path.join(d, 'out'), '--iters', '2', '--topk', '16', '--quiet'],
    code: 'E_NPY_FILE',
  },
  {
    group: 'model directories',
    name: 'vocab_size zero',
    setup: (d) => brokenModel(d, (m) => editConfig(m, (c) => void (c.vocab_size = 0))),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_CONFIG',
  },
  {
    group: 'model directories',
    name: 'index json naming a missing shard',
    setup: (d) =>
      brokenModel(d, (m) => {
        rmSync(path.join(m, 'model.safetensors'));
        json(m, 'model.safetensors.index.json', { weight_map: { 'gpt_neox.embed_in.weight': 'model-00001-of-00002.safetensors' } });
      }),
    args: (d) => epo(d, [], path.join(d, 'model')),
    code: 'E_MODEL_MISSING_FILE',
  },
  {
    group: 'corpora',
    name: 'jsonl text field a number',
    setup: (d) => json(d, 'c.jsonl', '{"text": 5}\n'),
    args: (d) => scan(d, [], { corpus: path.join(d, 'c.jsonl') }),
    code: 'E_CORPUS_BAD_FIELD',
  },
  { group: 'sweep files', name: 'a directory, not a file', args: (d) => ['sweep', 'launch', d, '--temporal-address', '127.0.0.1:1'], code: 'E_SWEEP_FILE' },
  { group: 'sweep files', name: 'empty file', setup: (d) => json(d, 'sweep.yaml', ''), args: (d) => launch(d), code: 'E_SWEEP_FILE' },
  {
    // Checked before the weights load: the (here truncated) weights are never read.
    group: 'cli arguments',
    name: 'epo --init-text of the wrong length, before the weights load',
    setup: (d) => brokenModel(d, (m) => writeFileSync(path.join(m, 'model.safetensors'), readFileSync(path.join(m, 'model.safetensors')).subarray(0, 64))),
    args: (d) => epo(d, ['--init-text', 'hello', '--seq-len', '6'], path.join(d, 'model')),
    code: 'E_EPO_CONFIG',
  },
  {
    group: 'sweep files (embedded)',
    name: 'scan corpus .jsonl.zst that is not zstd',
    setup: (d) => {
      json(d, 'c.jsonl.zst', '{"text": "plain"}\n');
      sweepFile(d, (s) => (s.methods.scan = { corpus: path.join(d, 'c.jsonl.zst'), tokens: 100, shards: 1, top: 4 }));
    },
    args: (d) => launchEmbedded(d),
    code: 'E_CORPUS_BAD_ZSTD',
  },
  {
    group: 'sweep files (embedded)',
    name: 'engine torch where the torch engine is not installed',
    setup: (d) => sweepFile(d, (s) => (s.model.engine = 'torch')),
    args: (d) => launchEmbedded(d),
    env: { DREAMSWEEP_CACHE: '/nonexistent/dreamsweep-cache', DREAMSWEEP_TORCH_PYTHON: '' },
    code: 'E_TORCH_MISSING',
  },
  // --- conflicting or impossible engine options (checked before anything loads)
  {
    group: 'cli arguments',
    name: 'epo --dtype with DREAMSWEEP_ENGINE=tfjs',
    args: (d) => epo(d, ['--dtype', 'float32']),
    env: { DREAMSWEEP_ENGINE: 'tfjs' },
    code: 'E_CLI_CONFLICT',
  },
  {
    group: 'cli arguments',
    name: 'epo --dtype with engine auto (the default) where the torch engine is not installed',
    args: (d) => epo(d, ['--dtype', 'float32']),
    env: { DREAMSWEEP_ENGINE: '', DREAMSWEEP_CACHE: '/nonexistent/dreamsweep-cache', DREAMSWEEP_TORCH_PYTHON: '' },
    code: 'E_CLI_CONFLICT',
  },
  {
    group: 'cli arguments',
    name: 'epo --device with --engine auto and a tfjs backend named',
    args: (d) => epo(d, ['--engine', 'auto', '--backend', 'wasm', '--device', 'cpu']),
    code: 'E_CLI_CONFLICT',
  },
  { group: 'cli arguments', name: 'epo --device with --engine tfjs', args: (d) => epo(d, ['--engine', 'tfjs', '--device', 'cuda']), code: 'E_CLI_CONFLICT' },
  { group: 'cli arguments', name: 'scan --dtype with the tfjs engine', args: (d) => scan(d, ['--dtype', 'float16']), code: 'E_CLI_CONFLICT' },
  { group: 'cli arguments', name: 'epo --device gpu', args: (d) => epo(d, ['--engine', 'torch', '--device', 'gpu']), code: 'E_TORCH_DEVICE' },
  {
    group: 'cli arguments',
    name: 'worker --device gpu',
    args: () => ['worker', '--engine', 'torch', '--device', 'gpu', '--temporal-address', '127.0.0.1:1'],
    code: 'E_TORCH_DEVICE',
  },
  { group: 'cli arguments', name: 'epo --gcg with --population 4', args: (d) => epo(d, ['--gcg', '--population', '4']), code: 'E_CLI_CONFLICT' },
  { group: 'cli arguments', name: 'epo --gcg with --lambda-max 2', args: (d) => epo(d, ['--gcg', '--lambda-max', '2']), code: 'E_CLI_CONFLICT' },
  {
    group: 'cli arguments',
    name: 'epo --engine torch with a DREAMSWEEP_TORCH_PYTHON that is not Python',
    args: (d) => epo(d, ['--engine', 'torch']),
    env: { DREAMSWEEP_TORCH_PYTHON: '/bin/true' },
    code: 'E_TORCH_PYTHON',
  },
  {
    group: 'cli arguments',
    name: 'worker --engine torch with a DREAMSWEEP_TORCH_PYTHON that does not exist',
    args: () => ['worker', '--engine', 'torch', '--temporal-address', '127.0.0.1:1'],
    env: { DREAMSWEEP_TORCH_PYTHON: '/nonexistent/python3' },
    code: 'E_TORCH_PYTHON',
  },
  {
    group: 'sweep files',
    name: 'model.dtype with engine tfjs',
    setup: (d) => sweepFile(d, (s) => (s.model.dtype = 'float16')),
    args: (d) => launch(d),
    code: 'E_SWEEP_FILE',
  },
  { group: 'sweep files', name: 'layer listed twice', setup: (d) => sweepFile(d, (s) => (s.study.layers = [1, 1])), args: (d) => launch(d), code: 'E_SWEEP_FILE' },
  { group: 'sweep files', name: 'storage uri ftp://', setup: (d) => sweepFile(d, (s) => (s.storage.uri = 'ftp://x/y')), args: (d) => launch(d), code: 'E_SWEEP_FILE' },
  { group: 'storage', name: 'report: --store s3:// without a bucket', args: (d) => ['report', 'x', '--store', 's3://', '--out', path.join(d, 'out')], code: 'E_STORE_URI' },
];
