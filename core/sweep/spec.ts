// The sweep file: a YAML description of one study (model, layers, vectors, methods, targets, storage,
// Temporal, concurrency, report), validated in full with every problem located at FILE:LINE:COL.
// The schema below is the reference; docs/sweep-file.md explains each field.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { RANDOM_DEFAULTS } from '../baselines/random.js';
import { resolveEpoConfig, type EpoConfig } from '../epo/config.js';
import { EPO_KNOBS, EPO_RULES, type Knob } from '../epo/knobs.js';
import { UserError, isUserError } from '../errors.js';
import { SWEEP_TARGET_LISTS } from '../objectives/kinds/index.js';
import type { SweepTargetLists, TargetListKey } from '../objectives/kinds/types.js';
import { isMatrixFile, type MatrixSource } from '../objectives/matrix-file.js';
import { BACKENDS, ENGINES, TORCH_DTYPES, type BackendName, type EngineChoice, type TorchDtype } from '../model/names.js';
import { epoRunConfig } from './epo-method.js';
import { formatPath, locate, problemMessage, want, zodProblems, type Problem, type SweepIssue } from './issues.js';
import { distinct, indexSet, int, obj, text } from './schema.js';

export type { SweepIssue } from './issues.js';

export interface SweepSpec {
  /** [a-z0-9-], used in IDs. */
  name: string;
  /** path: an absolute local directory or s3://bucket/prefix. */
  model: {
    path: string;
    engine: EngineChoice;
    backend?: BackendName;
    /** Torch engine only; absent: bfloat16 on CUDA, float32 on the CPU. */
    dtype?: TorchDtype;
  };
  study: {
    /** Non-empty, distinct, ascending, >= 0. */
    layers: number[];
    /**
     * Random unit directions (count per layer, seeded), or a vectors file (absolute): JSON, or a .safetensors /
     * .npy matrix with its tensor, rows and layer (core/objectives/matrix-file.ts).
     */
    vectors: { count: number; seed: number } | MatrixSource;
    seqLen: number;
  };
  methods: {
    random?: { prompts: number; seed: number; batchSize: number };
    /** corpus: absolute paths, globs or s3:// URIs. */
    scan?: { corpus: string[]; textField: string; tokens: number; stride?: number; top: number; shards: number; batchSize: number; skipBad: boolean };
    epo?: EpoMethod;
  };
  /**
   * Seeds, and each kind's list of targets to dream on with EPO besides residual directions (paper Tables 2, 3,
   * 5): core/objectives/kinds/types.ts's SweepTargetLists, expanded there one entry per target.
   */
  targets: SweepTargetLists & { seeds: number[] };
  /** uri: an absolute local directory or s3://bucket/prefix. */
  storage: { uri: string; endpoint?: string; region?: string; forcePathStyle: boolean };
  /** TLS fields are absolute file paths; apiKeyEnv names the environment variable that holds an API key. */
  temporal: {
    address?: string;
    namespace: string;
    taskQueues: { model: string; aux: string };
    tls?: { serverName?: string; serverRootCACertificate?: string; clientCert?: string; clientKey?: string };
    apiKeyEnv?: string;
    /** Seconds without a heartbeat after which a unit's worker is presumed dead and the unit retried elsewhere. */
    heartbeatTimeout: number;
  };
  concurrency: { units: number; perWorker?: number };
  report: { ceThreshold: number; slack: number[] };
  /** Absolute path of the file it came from. */
  source: string;
}

/** EPO's knobs as a sweep sets them; seqLen comes from study.seqLen and each run's seed from `seeds`. */
export type EpoMethod = Omit<EpoConfig, 'seqLen' | 'seed' | 'initIds' | 'initText'> & {
  runsPerVector: number;
  /** Always filled in by parsing: as given (runsPerVector entries), else 0..runsPerVector-1. */
  seeds?: number[];
};

/** Why: one code for every problem with a sweep file; `issues` lets tools and tests read them without parsing text. */
export class SweepFileError extends UserError {
  readonly issues: SweepIssue[];
  constructor(issues: SweepIssue[], options?: { cause?: unknown }) {
    issues = [...issues].sort((a, b) => a.line - b.line || a.col - b.col);
    super('E_SWEEP_FILE', issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n'), options);
    this.issues = issues;
  }
}

/** Reads and validates a sweep file; relative paths in it resolve against its directory. */
export function loadSweepFile(file: string): SweepSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new SweepFileError([{ file, line: 1, col: 1, path: '', message: `cannot read the sweep file (${why}); check the path` }], { cause: e });
  }
  return parseSweep(text, file);
}

/** Validates sweep-file text; `file` names it in errors and anchors its relative paths. */
export function parseSweep(text: string, file: string): SweepSpec {
  const source = path.resolve(file);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, merge: true, uniqueKeys: true });
  const at = (line: number, col: number, p: string, message: string): SweepIssue => ({ file, line, col, path: p, message });

  if (doc.errors.length > 0) {
    throw new SweepFileError(
      doc.errors.map((e) => {
        const { line, col } = lc.linePos(e.pos[0]);
        const fix = e.code === 'MULTIPLE_DOCS' ? 'a sweep file is one YAML document; remove the `---` separator' : 'fix the YAML at this spot';
        return at(line, col, '', `YAML syntax error: ${e.message.split('\n')[0]} (${e.code}); ${fix}`);
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new SweepFileError([at(1, 1, '', `YAML error: ${(e as Error).message}`)], { cause: e });
  }

  const fail = (problems: Problem[]) =>
    new SweepFileError(
      problems.map((p) => {
        const { line, col } = locate(doc, lc, p.path, p.at);
        return at(line, col, formatPath(p.path) || '(top level)', problemMessage(p, raw));
      }),
    );

  if (doc.contents === null) {
    throw new SweepFileError([at(1, 1, '(top level)', 'expected a mapping of sweep settings, got an empty file; start from sweeps/smoke.yaml')]);
  }
  const parsed = sweepSchema.safeParse(raw);
  if (!parsed.success) throw fail(zodProblems(sweepSchema, parsed.error.issues));
  const problems: Problem[] = [];
  const spec = build(parsed.data, source, problems);
  if (problems.length > 0) throw fail(problems);
  return spec;
}

// --- schema ------------------------------------------------------------------------------------------------

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A finite number >= min (> min when `above`), at most max when given. */
function num(min: number, hint?: string, above = false, max?: number) {
  if (max !== undefined) {
    const e = want(`a number in [${min}, ${max}]`, hint);
    return z.number(e).min(min, e).max(max, e);
  }
  const e = want(`a number ${above ? '>' : '>='} ${min}`, hint);
  return above ? z.number(e).gt(min, e) : z.number(e).min(min, e);
}

const bool = (hint?: string) => z.boolean(want('true or false', hint));

/** Why: YAML's `random:` with nothing after it means "on, with defaults". */
const section = <T extends z.ZodType>(s: T) => z.preprocess((v) => (v === null ? {} : v), s).optional();

/** A local path (relative to the sweep file) or s3://bucket/prefix; other URL schemes are mistakes. */
function location(expected: string, hint: string) {
  return text(expected, hint).superRefine((v, ctx) => {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(v)?.[1];
    if (scheme === undefined) return;
    if (scheme !== 's3') {
      ctx.addIssue({ code: 'custom', message: want(expected, `only local paths and s3:// URIs are supported, not ${scheme}://`).error });
      return;
    }
    const bucket = v.slice(5).split('/')[0]!;
    if (!S3_BUCKET.test(bucket)) {
      ctx.addIssue({
        code: 'custom',
        message: want(expected, `bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)`).error,
      });
    }
  });
}

/** 100000000, "100_000_000", "100M", "1.5k": a whole count of tokens. */
function parseCount(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const m = /^\s*(\d[\d_]*(?:\.\d+)?)\s*([kmgbt]?)\s*$/i.exec(v);
  if (!m) return v;
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9, b: 1e9, t: 1e12 }[m[2]!.toLowerCase() as 'k'];
  return Math.round(Number(m[1]!.replace(/_/g, '')) * scale * 1e6) / 1e6;
}
const count = (hint: string) =>
  z.preprocess(
    parseCount,
    z
      .number(want('a whole count such as 100000000, "100M" or "1.5k"', hint))
      .int(want('a whole count such as 100000000, "100M" or "1.5k"', hint))
      .min(1, want('a count >= 1', hint)),
  );

const modelSchema = obj(
  {
    path: location('a local model directory or s3://bucket/prefix', 'point it at a Hugging Face checkpoint (config.json, *.safetensors, tokenizer.json)'),
    engine: z.enum(ENGINES, want(`one of ${ENGINES.join(', ')}`, 'auto (the default) runs torch wherever a worker has the torch engine installed, else tfjs')).default('auto'),
    backend: z.enum(BACKENDS, want(`one of ${BACKENDS.join(', ')}`, 'omit it to let each worker choose')).optional(),
    dtype: z.enum(TORCH_DTYPES, want(`one of ${TORCH_DTYPES.join(', ')}`, 'omit it for bfloat16 on GPUs, float32 on CPUs')).optional(),
  },
  'a mapping with the model path',
  'add `model: { path: ./models/pythia-70m }` (a local directory or s3://bucket/prefix)',
).superRefine((m, ctx) => {
  // dtype is the torch engine's: on tfjs it would be ignored, and the sweep run in another precision than asked.
  // With auto (the default) each worker decides; one whose auto picks tfjs fails the unit at once (model-cache.ts).
  if (m.dtype !== undefined && m.engine === 'tfjs') {
    ctx.addIssue({
      code: 'custom',
      path: ['dtype'],
      message: want('no dtype with engine tfjs', 'dtype is for the torch engine: use `engine: torch` (or auto, the default), or remove dtype').error,
    });
  }
});

const vectorsSchema = obj(
  {
    count: int(1, 'random unit directions per layer, e.g. 50').optional(),
    seed: int(0, 'any whole number >= 0').optional(),
    file: location('a vectors file path', 'a JSON file of { "<layer>": [[...d_model numbers], ...] }, or a .safetensors / .npy matrix of [count, d_model]').optional(),
    tensor: text('a tensor name', 'the [count, d_model] tensor of the .safetensors file; default W_dec, else its only 2-D tensor').optional(),
    rows: indexSet('the matrix rows to use, e.g. `rows: 0..63` or `rows: [1, 5, 9]`; omit for all').optional(),
    layer: int(0, 'the layer whose resid_pre the matrix directions live in; default from cfg.json beside the file').optional(),
  },
  'a mapping with count (and seed), or file',
  'write `vectors: { count: 50, seed: 0 }` or `vectors: { file: vectors.json }`',
).superRefine((v, ctx) => {
  if (v.count === undefined && v.file === undefined) {
    ctx.addIssue({ code: 'custom', path: ['count'], message: want('count (random directions) or file', 'add `count: 50` or `file: vectors.json`').error });
  } else if (v.count !== undefined && v.file !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['file'], message: want('either count or file, not both', 'remove file to use random directions, or count to use the file').error });
  } else if (v.file !== undefined && v.seed !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['seed'], message: want('no seed with a vectors file', 'seed only applies to random directions (count); remove it').error });
  }
  const matrix = v.file !== undefined && isMatrixFile(v.file);
  for (const key of ['tensor', 'rows', 'layer'] as const) {
    if (v[key] === undefined || matrix) continue;
    const hint =
      v.file === undefined ? 'they choose from a matrix file: add `file: <name>.safetensors` or .npy' : 'a JSON vectors file names its layers and vectors itself; remove it';
    ctx.addIssue({ code: 'custom', path: [key], message: want(`no ${key} without a .safetensors or .npy file`, hint).error });
  }
  if (matrix && v.tensor !== undefined && v.file!.toLowerCase().endsWith('.npy')) {
    ctx.addIssue({ code: 'custom', path: ['tensor'], message: want('no tensor with a .npy file', 'a .npy file holds one array; remove tensor').error });
  }
});

const studySchema = obj(
  {
    layers: z
      .array(int(0, 'a layer is the block whose input (resid_pre) is read: 0..n_layers'), want('a list of layer numbers', 'e.g. `layers: [4, 8, 12]`'))
      .min(1, want('at least one layer', 'e.g. `layers: [4, 8, 12]`'))
      .superRefine(distinct('layer')),
    vectors: vectorsSchema,
    seqLen: int(2, 'prompt and window length in tokens; cross-entropy needs at least two (the paper: 12)').default(12),
  },
  'a mapping with layers and vectors',
  'add `study: { layers: [4, 8], vectors: { count: 50, seed: 0 } }`',
).superRefine((s, ctx) => {
  const layer = s.vectors.layer;
  if (layer !== undefined && !s.layers.includes(layer)) {
    ctx.addIssue({
      code: 'custom',
      path: ['vectors', 'layer'],
      message: want(`one of study.layers (${s.layers.join(', ')})`, `add ${layer} to study.layers, or fix the layer`).error,
    });
  }
});

const randomSchema = obj(
  {
    prompts: int(1, `the paper uses ${RANDOM_DEFAULTS.prompts}`).default(RANDOM_DEFAULTS.prompts),
    seed: int(0).default(RANDOM_DEFAULTS.seed),
    batchSize: int(1, 'prompts per engine call').default(RANDOM_DEFAULTS.batchSize),
  },
  'a mapping (or nothing, for defaults)',
  'write `random: {}` for the defaults',
);

const scanSchema = obj(
  {
    corpus: z.union(
      [
        location('a corpus path, glob or s3:// URI', 'e.g. data/*.jsonl.zst'),
        z.array(location('a corpus path, glob or s3:// URI', 'e.g. data/*.jsonl.zst')).min(1, want('at least one corpus path', 'list one or more files, globs or s3:// URIs')),
      ],
      want('a corpus path, glob or s3:// URI, or a list of them', 'e.g. `corpus: data/*.jsonl.zst`'),
    ),
    textField: text('a JSON field name', 'the field of each .jsonl record that holds its text').default('text'),
    tokens: count('how many corpus tokens to scan, e.g. `tokens: 100M`'),
    stride: int(1, 'tokens between window starts; omit for seqLen (non-overlapping windows)').optional(),
    top: int(1, 'best windows kept per (layer, vector)').default(16),
    shards: int(1, 'the scan splits into this many units').default(1),
    batchSize: int(1, 'windows per engine call').default(64),
    skipBad: bool('true skips undecodable records and files (and counts them) instead of failing').default(false),
  },
  'a mapping with corpus and tokens',
  'e.g. `scan: { corpus: data/*.jsonl.zst, tokens: 100M }`',
);

/** The zod schema of one EPO knob, from its declaration (core/epo/knobs.ts). */
function knobSchema(k: Knob) {
  const hint = `${k.symbol ? `${k.symbol}, ` : ''}${k.help}${k.default !== undefined ? `; default ${k.default}` : ''}`;
  switch (k.type) {
    case 'int':
      return k.default === undefined ? int(k.min!, hint, k.max).optional() : int(k.min!, hint, k.max).default(k.default as number);
    case 'number':
      return k.default === undefined ? num(k.min!, hint, false, k.max).optional() : num(k.min!, hint, false, k.max).default(k.default as number);
    case 'bool':
      return k.default === undefined ? bool(hint).optional() : bool(hint).default(k.default as boolean);
    case 'text':
      return text('a non-empty string', hint).optional();
  }
}

const epoKnobs = Object.fromEntries(EPO_KNOBS.filter((k) => !k.perRun).map((k) => [k.key, knobSchema(k)]));

const epoSchema = obj(
  {
    runsPerVector: int(1, 'EPO runs per (layer, vector); the paper uses 1').default(1),
    seeds: z.array(int(0), want('a list of seeds', 'one seed per run, e.g. `seeds: [0, 1]`')).superRefine(distinct('seed')).optional(),
    ...epoKnobs,
  },
  'a mapping of EPO options (or nothing, for Table 1 defaults)',
  "write `epo: {}` for the paper's Table 1 settings",
).superRefine((raw, ctx) => {
  const e = raw as unknown as EpoConfig & { runsPerVector: number; seeds?: number[] };
  const issue = (p: string, expected: string, hint: string) => ctx.addIssue({ code: 'custom', path: [p], message: want(expected, hint).error });
  for (const rule of EPO_RULES) {
    const expected = rule.broken(e);
    if (expected) issue(rule.key, expected, rule.fix);
  }
  if (e.seeds !== undefined && e.seeds.length !== e.runsPerVector) {
    issue('seeds', `${e.runsPerVector} seed${e.runsPerVector === 1 ? '' : 's'} (runsPerVector)`, 'give one seed per run, or omit seeds for 0..runsPerVector-1');
  }
});

const methodsSchema = obj(
  { random: section(randomSchema), scan: section(scanSchema), epo: section(epoSchema) },
  'a mapping with random, scan and/or epo',
  'e.g. `methods: { random: {}, epo: {} }`',
);

const targetsSchema = obj(
  {
    // Each kind's list (neurons, tokens, saes), in the table's order: core/objectives/kinds/.
    ...(Object.fromEntries(SWEEP_TARGET_LISTS.map((k) => [k.sweepFile.key, k.sweepFile.schema])) as Record<TargetListKey, z.ZodDefault<z.ZodType<unknown[]>>>),
    seeds: z
      .array(int(0), want('a list of seeds', 'EPO runs per target, one per seed; e.g. `seeds: [0, 1]`'))
      .min(1, want('at least one seed', 'e.g. `seeds: [0]`'))
      .superRefine(distinct('seed'))
      .default([0]),
  },
  'a mapping with neurons, tokens, saes and/or seeds',
  'e.g. `targets: { neurons: [{ layer: 8, index: 120 }] }`',
);

const storageSchema = obj(
  {
    uri: location('a local directory or s3://bucket/prefix', 'where artifacts go, e.g. s3://my-bucket/dreamsweep or ./artifacts'),
    endpoint: z
      .string(want('an http(s) URL', 'e.g. http://127.0.0.1:9000 for MinIO; omit it for AWS S3'))
      .regex(/^https?:\/\/[^\s/]+/, want('an http(s) URL', 'e.g. http://127.0.0.1:9000 for MinIO; omit it for AWS S3'))
      .optional(),
    region: text('an AWS region name', 'e.g. us-east-1').default('us-east-1'),
    forcePathStyle: bool('true for most S3-compatible servers (MinIO, versitygw)').default(false),
  },
  'a mapping with uri',
  'add `storage: { uri: s3://my-bucket/dreamsweep }` or a local directory',
).superRefine((s, ctx) => {
  if (!s.uri.startsWith('s3://') && s.endpoint !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['endpoint'], message: want('no endpoint for a local storage uri', 'remove endpoint, or make uri s3://bucket/prefix').error });
  }
});

const tlsPath = (what: string) => text('a file path', `${what} (PEM), relative to the sweep file`).optional();
const temporalSchema = obj(
  {
    address: text('host:port', 'e.g. 127.0.0.1:7233 or my-ns.a1b2c.tmprl.cloud:7233; omit it for the embedded default')
      .regex(/^[^\s:/]+:\d{1,5}$/, want('host:port', 'e.g. 127.0.0.1:7233; no scheme, no path'))
      .optional(),
    namespace: text('a namespace name', 'e.g. default').default('default'),
    taskQueues: obj(
      {
        model: text('a task queue name', 'the queue GPU (model) workers poll').default('dreamsweep-model'),
        aux: text('a task queue name', 'the queue CPU (aux) workers poll').default('dreamsweep-aux'),
      },
      'a mapping { model, aux }',
      'omit it for dreamsweep-model and dreamsweep-aux',
    ).prefault({}),
    tls: obj(
      {
        serverName: text('a host name', 'the name on the server certificate').optional(),
        serverRootCACertificate: tlsPath('the CA certificate'),
        clientCert: tlsPath('the client certificate'),
        clientKey: tlsPath('the client private key'),
      },
      'a mapping of TLS settings',
      'e.g. `tls: { clientCert: certs/client.pem, clientKey: certs/client.key }`',
    )
      .superRefine((t, ctx) => {
        const one = t.clientCert === undefined ? 'clientCert' : t.clientKey === undefined ? 'clientKey' : undefined;
        if (one && (t.clientCert ?? t.clientKey) !== undefined) {
          ctx.addIssue({ code: 'custom', path: [one], message: want('clientCert and clientKey together', `add ${one}, or remove the other`).error });
        }
      })
      .optional(),
    apiKeyEnv: z
      .string(want('an environment variable name', 'e.g. TEMPORAL_API_KEY'))
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, want('an environment variable name', 'the name, e.g. TEMPORAL_API_KEY, never the key itself'))
      .optional(),
    heartbeatTimeout: num(1, 'seconds without a heartbeat before a unit is retried on another worker').default(120),
  },
  'a mapping of Temporal settings',
  'omit it for the embedded default server',
);

const reportSchema = obj(
  {
    ceThreshold: num(0, 'prompts below this cross-entropy count as fluent (the paper: 6)', true).default(6),
    slack: z
      .array(num(0, 'in standard deviations'), want('a list of numbers', 'e.g. `slack: [0, 1, 2, 3]`'))
      .min(1, want('at least one slack value', 'e.g. `slack: [0, 1, 2, 3]`'))
      .superRefine(distinct('slack value'))
      .default([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]),
  },
  'a mapping of report settings',
  'omit it for the defaults',
);

const sweepSchema = obj(
  {
    name: z.string(want('a sweep name of a-z, 0-9 and -', 'e.g. `name: residual-stream`')).superRefine((v, ctx) => {
      if (NAME.test(v)) return;
      const slug =
        v
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-+|-+$/g, '')
          .slice(0, 63) || 'my-sweep';
      ctx.addIssue({ code: 'custom', message: want('a name of a-z, 0-9 and - (at most 63, not starting with -)', `it becomes part of IDs; e.g. ${slug}`).error });
    }),
    model: modelSchema,
    study: studySchema,
    methods: methodsSchema.prefault({}),
    targets: targetsSchema.prefault({}),
    storage: storageSchema,
    temporal: temporalSchema.prefault({}),
    concurrency: obj(
      {
        units: int(1, 'units of work in flight in the workflow at once', 1000).default(16),
        perWorker: int(1, "units one worker runs at once; omit for the worker's own default").optional(),
      },
      'a mapping { units, perWorker? }',
      'e.g. `concurrency: { units: 16 }`',
    ).prefault({}),
    report: reportSchema.prefault({}),
  },
  'a mapping of sweep settings',
  'start from sweeps/smoke.yaml',
).superRefine((s, ctx) => {
  const targets = SWEEP_TARGET_LISTS.reduce((n, k) => n + k.sweepFile.count(s.targets[k.sweepFile.key]), 0);
  const { random, scan, epo } = s.methods;
  if (!random && !scan && !epo && targets === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['methods'],
      message: want('at least one of methods.random, methods.scan, methods.epo, or a target', 'e.g. `methods: { random: {}, epo: {} }`').error,
    });
  }
  if (targets > 0 && !epo) {
    ctx.addIssue({
      code: 'custom',
      path: ['methods', 'epo'],
      message: want('an epo section, because targets run with its knobs', 'add `epo: {}` under methods (Table 1 defaults), or remove the targets').error,
    });
  }
});

type RawSweep = z.output<typeof sweepSchema>;

// --- from the validated file to the spec -------------------------------------------------------------------

/** Relative local paths resolve against the sweep file's directory; s3:// URIs stay as written. */
function resolveAt(dir: string) {
  return (p: string) => (p.startsWith('s3://') ? p : path.resolve(dir, p));
}

/** TLS file paths resolve like every other path; serverName is a host name, not a path. */
function resolveTls(t: NonNullable<RawSweep['temporal']['tls']>, at: (p: string) => string): NonNullable<SweepSpec['temporal']['tls']> {
  const out: NonNullable<SweepSpec['temporal']['tls']> = {};
  if (t.serverName !== undefined) out.serverName = t.serverName;
  if (t.serverRootCACertificate !== undefined) out.serverRootCACertificate = at(t.serverRootCACertificate);
  if (t.clientCert !== undefined) out.clientCert = at(t.clientCert);
  if (t.clientKey !== undefined) out.clientKey = at(t.clientKey);
  return out;
}

/** Each kind's list, in the table's order; a kind's optional list is left out when it builds none. */
function buildTargetLists(raw: RawSweep['targets'], at: (p: string) => string, problems: Problem[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const k of SWEEP_TARGET_LISTS) {
    const built = k.sweepFile.build(raw[k.sweepFile.key], { at, problems });
    if (built !== undefined) out[k.sweepFile.key] = built;
  }
  return out;
}

function build(r: RawSweep, source: string, problems: Problem[]): SweepSpec {
  const at = resolveAt(path.dirname(source));
  const v = r.study.vectors;
  const { random, scan, epo } = r.methods;
  const spec: SweepSpec = {
    name: r.name,
    model: {
      path: at(r.model.path),
      engine: r.model.engine,
      ...(r.model.backend && { backend: r.model.backend }),
      ...(r.model.dtype && { dtype: r.model.dtype }),
    },
    study: {
      layers: [...r.study.layers].sort((a, b) => a - b),
      // Only the keys given, so the spec (and the sweep's ID) of a file without them is as before.
      vectors:
        v.file !== undefined
          ? {
              file: at(v.file),
              ...(v.tensor !== undefined && { tensor: v.tensor }),
              ...(v.rows !== undefined && { rows: v.rows }),
              ...(v.layer !== undefined && { layer: v.layer }),
            }
          : { count: v.count!, seed: v.seed ?? 0 },
      seqLen: r.study.seqLen,
    },
    methods: {
      ...(random && { random }),
      ...(scan && {
        scan: { ...scan, corpus: (typeof scan.corpus === 'string' ? [scan.corpus] : scan.corpus).map(at) },
      }),
      // The knob fields come from EPO_KNOBS, which zod cannot type field by field: they are EpoMethod's.
      ...(epo && { epo: { ...(epo as unknown as EpoMethod), seeds: epo.seeds ?? Array.from({ length: epo.runsPerVector }, (_, i) => i) } }),
    },
    targets: {
      ...buildTargetLists(r.targets, at, problems),
      seeds: r.targets.seeds,
    } as SweepSpec['targets'],
    storage: { ...r.storage, uri: at(r.storage.uri) },
    temporal: {
      ...r.temporal,
      ...(r.temporal.tls && { tls: resolveTls(r.temporal.tls, at) }),
    },
    concurrency: r.concurrency,
    report: { ...r.report, slack: [...r.report.slack].sort((a, b) => a - b) },
    source,
  };
  const e = spec.methods.epo;
  if (e) {
    // A safety net with the EPO core's own checks; the vocabulary is unknown here, so it is taken as unbounded.
    try {
      resolveEpoConfig(epoRunConfig(e, { seqLen: spec.study.seqLen, seed: 0 }), Number.MAX_SAFE_INTEGER);
    } catch (err) {
      if (!isUserError(err)) throw err;
      problems.push({ path: ['methods', 'epo'], text: `${err.message}; fix it under methods.epo` });
    }
  }
  return spec;
}
