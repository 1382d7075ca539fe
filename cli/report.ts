// `dreamsweep report`: a sweep's z-score report (report.html, report.json, CSVs) written to a directory,
// from the sweep's artifacts in a local or S3 store; token attribution when the model is given.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { addEngineOptions, backendOption } from './engine-options.js';
import type { Engine } from '../core/engine.js';
import { UserError } from '../core/errors.js';
import { HfJsonTokenizer } from '../core/model/tokenizer.js';
import { aggregateSweep, attributeBestPrompts, buildReport, DEFAULT_PERPLEXITY_CAP, readSweepPlan, type Attribution } from '../core/report/index.js';
import { closeS3Clients, openStore, type ArtifactStore } from '../core/store/index.js';

/** Where a sweep's store is, as `report` and `export` take it (addSweepStoreOptions). */
export interface SweepStoreCliOptions {
  store?: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
}

export interface ReportCliOptions extends SweepStoreCliOptions {
  out: string;
  model?: string;
  backend?: string;
  engine?: string;
  dtype?: string;
  device?: string;
  perplexityCap: number;
}

export function registerReport(program: Command): void {
  const cmd = program
    .command('report')
    .description("aggregate a sweep's artifacts (finished or not) into report.html, report.json and CSVs")
    .argument('<sweep>', 'a sweep ID (with --store), or where it lives: s3://bucket/prefix/sweeps/<id> or DIR/sweeps/<id>')
    .requiredOption('--out <dir>', 'directory for report.html, report.json and the CSV files');
  addSweepStoreOptions(cmd)
    .option('--model <dir>', "the sweep's model directory: decodes every prompt and adds token attribution")
    .addOption(backendOption('tfjs backend for --model'))
    .option('--perplexity-cap <x>', 'best neuron/logit prompt must have perplexity below this', positive('perplexity-cap'), DEFAULT_PERPLEXITY_CAP);
  addEngineOptions(cmd).action(async (sweep: string, o: ReportCliOptions) => {
    await runReportCommand(sweep, o);
  });
}

/** --store, --endpoint, --region, --path-style: where the <sweep> argument's store is. */
export function addSweepStoreOptions(cmd: Command): Command {
  return cmd
    .option('--store <uri>', 'the artifact store (s3://bucket/prefix or a directory) when <sweep> is a bare ID')
    .option('--endpoint <url>', 'S3-compatible endpoint (default: AWS, or AWS_ENDPOINT_URL)')
    .option('--region <name>', 'S3 region')
    .option('--path-style', 'bucket in the path, not the host name (default with --endpoint)');
}

/** The store a <sweep> argument names (locateSweep) opened with the S3 options, and the sweep's ID. */
export function openSweepStore(sweep: string, o: SweepStoreCliOptions): { store: ArtifactStore; sweepId: string } {
  const { storeUri, sweepId } = locateSweep(sweep, o.store);
  const store = openStore(storeUri, {
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.region ? { region: o.region } : {}),
    ...(o.pathStyle ? { forcePathStyle: true } : {}),
  });
  return { store, sweepId };
}

const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new UserError('E_CLI', `--${name}: expected a number > 0, got ${JSON.stringify(v)}`);
  return n;
};

/** Where a sweep lives: `s3://b/p/sweeps/<id>`, `file:///d/sweeps/<id>`, `d/sweeps/<id>` (optionally `/plan.json`), or a bare ID with --store. */
export function locateSweep(arg: string, store?: string): { storeUri: string; sweepId: string } {
  const trimmed = arg.replace(/\/plan\.json$/, '').replace(/\/+$/, '');
  if (/^s3:\/\//.test(trimmed)) {
    const m = /^(s3:\/\/[^/]+(?:\/.*?)?)\/sweeps\/([^/]+)$/.exec(trimmed);
    if (!m) throw new UserError('E_CLI', `${arg}: expected s3://bucket/prefix/sweeps/<id> (the sweep's folder in the store)`);
    return { storeUri: m[1]!, sweepId: m[2]! };
  }
  const local = trimmed.startsWith('file://') ? fileURLToPath(trimmed) : trimmed;
  if (local.includes('/') || local.includes(path.sep) || existsSync(local)) {
    const abs = path.resolve(local);
    if (path.basename(path.dirname(abs)) !== 'sweeps') {
      throw new UserError('E_CLI', `${arg}: expected a sweep folder DIR/sweeps/<id> inside a store (or a bare ID with --store)`);
    }
    return { storeUri: path.dirname(path.dirname(abs)), sweepId: path.basename(abs) };
  }
  if (!store) throw new UserError('E_CLI', `${arg} is a bare sweep ID: add --store URI (s3://bucket/prefix or a directory), or give s3://bucket/prefix/sweeps/${arg}`);
  return { storeUri: store, sweepId: trimmed };
}

export async function runReportCommand(sweep: string, o: ReportCliOptions): Promise<void> {
  const { store, sweepId } = openSweepStore(sweep, o);

  let engine: Engine | undefined;
  let decode: ((ids: number[]) => string) | undefined;
  if (o.model) {
    const { openEngine } = await import('../core/model/open-engine.js');
    engine = await openEngine(o.model, o);
    decode = (ids) => engine!.tokenizer.decode(ids);
  }
  try {
    if (!decode) {
      // No model given: the plan's model directory, when local, still has the tokenizer to decode every prompt.
      const dir = (await readSweepPlan(store, sweepId)).spec.model.path;
      if (!dir.startsWith('s3://') && existsSync(path.join(dir, 'tokenizer.json'))) {
        const t = HfJsonTokenizer.fromFile(path.join(dir, 'tokenizer.json'), path.join(dir, 'tokenizer_config.json'));
        decode = (ids) => t.decode(ids);
      }
    }
    const data = await aggregateSweep(store, sweepId, { perplexityCap: o.perplexityCap, decode });
    let attribution: Attribution[] | undefined;
    if (engine) attribution = await attributeBestPrompts(engine, store, data);
    const files = await buildReport(data, attribution, {
      attributionNote: 'Not computed: token attribution needs the model; rerun with --model DIR.',
    });
    mkdirSync(o.out, { recursive: true });
    for (const [name, body] of Object.entries(files)) writeFileSync(path.join(o.out, name), body);

    const out = process.stdout;
    out.write(`report: ${path.resolve(o.out, 'report.html')}\n`);
    out.write(`units: ${data.units.finished} of ${data.units.planned} finished\n`);
    if (data.missing.length) {
      out.write(`missing (${data.missing.length}):\n`);
      for (const m of data.missing.slice(0, 20)) out.write(`  ${m.unit}: ${m.reason}\n`);
      if (data.missing.length > 20) out.write(`  ... and ${data.missing.length - 20} more (report.json lists all)\n`);
    }
    if (data.targets.length) {
      const compared = data.targets.filter((t) => t.feature.comparison?.epoActivation != null);
      const beat = compared.filter((t) => t.feature.comparison!.beat).length;
      out.write(
        `targets: ${data.targets.length} neuron/logit/SAE; ${compared.length ? `dreaming beat the dataset at comparable CE for ${beat} of ${compared.length} compared` : 'none compared with the dataset (no finished scan with features)'}\n`,
      );
    }
    if (!attribution) out.write('token attribution: not computed (give --model DIR)\n');
  } finally {
    engine?.dispose();
    closeS3Clients();
  }
}
