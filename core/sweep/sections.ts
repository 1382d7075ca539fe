// The sweep file's sections as zod schemas (model, study, methods, targets, storage, temporal, concurrency, report),
// with the file's own wording; the reference for docs/sweep-file.md. core/sweep/spec.ts parses a file with them and
// builds the SweepSpec; the helpers they are made of are in schema.ts.
import { z } from 'zod';
import { RANDOM_DEFAULTS } from '../baselines/random.js';
import type { EpoConfig } from '../epo/config.js';
import { EPO_KNOBS, EPO_RULES, type Knob } from '../epo/knobs.js';
import { BACKENDS, ENGINES, TORCH_DTYPES } from '../model/names.js';
import { SWEEP_TARGET_LISTS } from '../objectives/kinds/index.js';
import type { TargetListKey } from '../objectives/kinds/types.js';
import { isMatrixFile } from '../objectives/matrix-file.js';
import { bool, count, distinct, indexSet, int, location, num, obj, section, seedSet, text, want } from './schema.js';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

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
      .superRefine(distinct('layer'))
      .optional(),
    vectors: vectorsSchema.optional(),
    seqLen: int(2, 'prompt and window length in tokens; cross-entropy needs at least two (the paper: 12)').default(12),
  },
  'a mapping with layers and vectors (or only seqLen, for a sweep of targets alone)',
  'add `study: { layers: [4, 8], vectors: { count: 50, seed: 0 } }`, or leave study out to dream only targets',
).superRefine((s, ctx) => {
  // Layers and vectors are the residual study together; neither is a sweep of targets alone (the top level checks it has some).
  if (s.layers !== undefined && s.vectors === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['vectors'],
      message: want('vectors beside layers', 'add `vectors: { count: 50, seed: 0 }`, or remove layers for a sweep of targets alone').error,
    });
  }
  if (s.vectors !== undefined && s.layers === undefined) {
    ctx.addIssue({ code: 'custom', path: ['layers'], message: want('layers beside vectors', 'add the layers the vectors are for, e.g. `layers: [4, 8]`').error });
  }
  const layer = s.vectors?.layer;
  if (layer !== undefined && s.layers !== undefined && !s.layers.includes(layer)) {
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
    top: int(1, 'best windows kept per (layer, vector) and per target').default(16),
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
    seeds: seedSet('one seed per run, e.g. `seeds: [0, 1]` or `seeds: 0..1`').optional(),
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
    seeds: seedSet('EPO runs per target, one per seed; e.g. `seeds: [0, 1]` or `seeds: 0..59`').default([0]),
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

export const sweepSchema = obj(
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
    // Absent, or only seqLen: no residual study, a sweep of targets alone (spec.ts's residStudy).
    study: studySchema.prefault({}),
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
  const study = s.study.layers !== undefined;
  if (!study && targets === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['study', 'layers'],
      message: want(
        'a residual study (study.layers and study.vectors) or at least one target (targets.neurons, targets.tokens, targets.saes)',
        'add `study: { layers: [4, 8], vectors: { count: 50, seed: 0 } }`, or targets such as `targets: { neurons: [{ layer: 8, index: 120 }] }` with `methods: { epo: {} }`',
      ).error,
    });
  } else if (!random && !scan && !epo && targets === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['methods'],
      message: want('at least one of methods.random, methods.scan, methods.epo, or a target', 'e.g. `methods: { random: {}, epo: {} }`').error,
    });
  }
  // Refused rather than ignored, as an unknown key is: a section that would do nothing is a mistake, and the
  // random baseline is the z reference of the residual directions only (targets compare with the scan).
  if (!study && random) {
    ctx.addIssue({
      code: 'custom',
      path: ['methods', 'random'],
      message: want(
        'no random baseline without a study',
        'random prompts are the z-score reference of the residual directions (study.layers, study.vectors), which this sweep has none of; remove methods.random (neuron, logit and SAE targets are compared with the dataset examples of methods.scan), or add a study',
      ).error,
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

export type RawSweep = z.output<typeof sweepSchema>;
