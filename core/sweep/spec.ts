// The sweep file: a YAML description of one study (model, layers, vectors, methods, targets, storage,
// Temporal, concurrency, report), validated in full with every problem located at FILE:LINE:COL.
// Its schema, the reference, is core/sweep/sections.ts; docs/sweep-file.md explains each field. Here: the spec
// it builds, and reading a file into one.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { resolveEpoConfig, type EpoConfig } from '../epo/config.js';
import { UserError, isUserError } from '../errors.js';
import { SWEEP_TARGET_LISTS } from '../objectives/kinds/index.js';
import type { SweepTargetLists } from '../objectives/kinds/types.js';
import type { MatrixSource } from '../objectives/matrix-file.js';
import { epoRunConfig } from './epo-method.js';
import { formatPath, locate, problemMessage, zodProblems, type Problem, type SweepIssue } from './issues.js';
import { sweepSchema, type RawSweep } from './sections.js';

export type { SweepIssue } from './issues.js';

/**
 * A validated sweep, its type derived from the schema: the sections as they parse (RawSweep, core/sweep/sections.ts,
 * defaults filled in), with every local path made absolute (model.path, storage.uri, the scan corpus, the vectors
 * file, TLS files) and the changes of shape written here.
 */
export interface SweepSpec {
  /** [a-z0-9-], used in IDs. */
  name: string;
  /** path: an absolute local directory or s3://bucket/prefix. */
  model: RawSweep['model'];
  /**
   * The residual study, or only the prompt length for a sweep of targets alone (a file without study.layers):
   * seqLen is here either way, the one prompt and window length of every method. residStudy() tells them apart.
   */
  study: ResidStudy | { seqLen: number; layers?: undefined; vectors?: undefined };
  methods: {
    random?: NonNullable<RawSweep['methods']['random']>;
    /** corpus: absolute paths, globs or s3:// URIs. */
    scan?: Omit<NonNullable<RawSweep['methods']['scan']>, 'corpus'> & { corpus: string[] };
    epo?: EpoMethod;
  };
  /**
   * Seeds, and each kind's list of targets to dream on with EPO besides residual directions (paper Tables 2, 3,
   * 5): core/objectives/kinds/types.ts's SweepTargetLists, expanded there one entry per target.
   */
  targets: SweepTargetLists & { seeds: number[] };
  /** uri: an absolute local directory or s3://bucket/prefix. */
  storage: RawSweep['storage'];
  /** TLS fields are absolute file paths; apiKeyEnv names the environment variable that holds an API key. */
  temporal: RawSweep['temporal'];
  concurrency: RawSweep['concurrency'];
  report: RawSweep['report'];
  /** Absolute path of the file it came from. */
  source: string;
}

/**
 * Random unit directions (count per layer, seeded), or a vectors file (absolute): JSON, or a .safetensors /
 * .npy matrix with its tensor, rows and layer (core/objectives/matrix-file.ts).
 */
export type VectorsSpec = { count: number; seed: number } | MatrixSource;

/** The residual-stream study: for each layer and direction, the alignment of resid_pre with it. */
export interface ResidStudy {
  /** Ascending, distinct, non-empty. */
  layers: number[];
  vectors: VectorsSpec;
  seqLen: number;
}

/** The sweep's residual study; undefined for a sweep of targets alone (no random baseline, no residual EPO units). */
export function residStudy(spec: Pick<SweepSpec, 'study'>): ResidStudy | undefined {
  return spec.study.layers === undefined ? undefined : spec.study;
}

/** The residual study's layers: none for a sweep of targets alone. */
export function studyLayers(spec: Pick<SweepSpec, 'study'>): number[] {
  return residStudy(spec)?.layers ?? [];
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

/** The residual study with the keys given (an old file's spec, and so its sweep ID, stays as it was), or only seqLen. */
function buildStudy(s: RawSweep['study'], at: (p: string) => string): SweepSpec['study'] {
  const v = s.vectors;
  if (s.layers === undefined || v === undefined) return { seqLen: s.seqLen };
  return {
    layers: [...s.layers].sort((a, b) => a - b),
    vectors:
      v.file !== undefined
        ? {
            file: at(v.file),
            ...(v.tensor !== undefined && { tensor: v.tensor }),
            ...(v.rows !== undefined && { rows: v.rows }),
            ...(v.layer !== undefined && { layer: v.layer }),
          }
        : { count: v.count!, seed: v.seed ?? 0 },
    seqLen: s.seqLen,
  };
}

function build(r: RawSweep, source: string, problems: Problem[]): SweepSpec {
  const at = resolveAt(path.dirname(source));
  const { random, scan, epo } = r.methods;
  const spec: SweepSpec = {
    name: r.name,
    model: {
      path: at(r.model.path),
      engine: r.model.engine,
      ...(r.model.backend && { backend: r.model.backend }),
      ...(r.model.dtype && { dtype: r.model.dtype }),
    },
    study: buildStudy(r.study, at),
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
