// `dreamsweep scan`: a one-pass dataset scan of a corpus (files, directories, globs, s3:// URIs) for every
// (layer, vector) pair of a local model and every --objective (neuron, logit, SAE latent), with a progress bar,
// checkpoints every few batches and --resume;
// the result (docs/scan-format.md, plus model and vectors) goes to DIR/result.json.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import writeFileAtomic from 'write-file-atomic';
import type { FeatureJson, ScanCheckpoint, ScanFeature } from '../core/corpus/result.js';
import { scanCorpus } from '../core/corpus/scan.js';
import { openBySkipping, resolveShards, type CorpusStore } from '../core/corpus/source.js';
import { UserError } from '../core/errors.js';
import { modelIdentity } from '../core/model/identity.js';
import { checkModelSeqLen } from '../core/model/load.js';
import type { Engine } from '../core/engine.js';
import { featureOf, OBJECTIVE_FORMS, targetOfSpec } from '../core/objectives/kinds/index.js';
import { parseObjective } from '../core/objectives/spec.js';
import { listUri, openUri, type StoreOptions } from '../core/store/index.js';
import { addTargetOptions, int, loadEngine, pairsTable, RESULT_FILE, targetsFromOptions, type TargetCliOptions } from './baseline.js';

export const CHECKPOINT_FILE = 'checkpoint.json';

/** `100000`, `1e8`, `100M`, `2.5k` -> a whole number of tokens. */
export function parseTokens(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kKMG]?)\s*$/.exec(v);
  const n = m ? Number(m[1]) * ({ '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9 } as Record<string, number>)[m[2]!]! : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UserError('E_CLI', `--tokens: expected a whole number of tokens such as 100000, 1e8 or 100M, got ${JSON.stringify(v)}`);
  return n;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerScan(program: Command): void {
  addTargetOptions(
    program
      .command('scan')
      .description("scan every n-token window of a corpus: per (layer, vector) and per --objective mean, std, max, the distribution and the best windows, plus the windows' CE"),
  )
    .requiredOption('--corpus <path>', 'a .txt/.jsonl/.jsonl.zst file, directory, glob or s3:// URI (repeatable)', collect)
    .option(
      '--objective <spec>',
      `a neuron, logit or SAE target to scan too, repeatable (docs/objectives.md): ${OBJECTIVE_FORMS.filter((f) => !f.startsWith('resid:')).join(' | ')}; a logit target leaves out windows holding its token's text, as a sweep's does`,
      collect,
      [],
    )
    .requiredOption('--out <dir>', `directory for ${RESULT_FILE} (and ${CHECKPOINT_FILE} while running)`)
    .option('--seq-len <n>', 'tokens per window', int('seq-len', 2), 12)
    .option('--stride <s>', 'tokens between window starts (default: n, no overlap)', int('stride', 1))
    .option('--tokens <N>', 'token budget: stop before windows x n would pass N (e.g. 100M)', parseTokens)
    .option('--top <K>', 'best windows kept per pair', int('top', 1), 16)
    .option('--batch-size <b>', 'windows per engine call', int('batch-size', 1), 64)
    .option('--text-field <name>', 'jsonl field holding the text', 'text')
    .option('--skip-bad', 'skip and count bad lines instead of stopping at the first')
    .option('--checkpoint-every <B>', `write ${CHECKPOINT_FILE} every B batches (0: never)`, int('checkpoint-every'), 50)
    .option('--resume', `continue the scan whose ${CHECKPOINT_FILE} is in --out`)
    .option('--s3-endpoint <url>', 'S3-compatible endpoint for s3:// corpora (default: AWS, or AWS_ENDPOINT_URL)')
    .option('--s3-region <name>', 'S3 region (default: the AWS chain, then us-east-1)')
    .option('--quiet', 'no progress bar')
    .action(async (o) => {
      await runScanCommand(o);
    });
}

interface ScanCliOptions extends TargetCliOptions {
  corpus: string[];
  objective: string[];
  out: string;
  seqLen: number;
  stride?: number;
  tokens?: number;
  top: number;
  batchSize: number;
  textField: string;
  skipBad?: boolean;
  checkpointEvery: number;
  resume?: boolean;
  s3Endpoint?: string;
  s3Region?: string;
  quiet?: boolean;
}

/** s3:// corpora through the artifact store's URI helpers (ranged reads by skipping). */
function corpusStore(o: ScanCliOptions): CorpusStore {
  const opts: StoreOptions = { ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}), ...(o.s3Region ? { region: o.s3Region } : {}) };
  return {
    list: (prefix) => listUri(prefix, opts),
    open: openBySkipping(async (uri) => (await openUri(uri, opts)) as unknown as AsyncIterable<Uint8Array>),
  };
}

async function runScanCommand(o: ScanCliOptions): Promise<void> {
  const ckFile = path.join(o.out, CHECKPOINT_FILE);
  let resume: ScanCheckpoint | undefined;
  if (o.resume) {
    if (!existsSync(ckFile)) throw new UserError('E_SCAN_RESUME_MISMATCH', `--resume: ${ckFile} does not exist; run without --resume to start a scan`);
    try {
      resume = JSON.parse(readFileSync(ckFile, 'utf8')) as ScanCheckpoint;
    } catch (e) {
      throw new UserError('E_SCAN_RESUME_MISMATCH', `--resume: ${ckFile} is not valid JSON (${(e as Error).message}); delete it and start afresh`);
    }
  } else if (existsSync(ckFile)) {
    throw new UserError('E_SCAN_OUT_EXISTS', `${o.out} holds an unfinished scan (${CHECKPOINT_FILE}); pass --resume to continue it, or choose another --out`);
  }
  checkModelSeqLen(o.model, o.seqLen, '--seq-len');
  const model = modelIdentity(o.model);
  const store = corpusStore(o);
  const shards = await resolveShards(o.corpus, store);
  const engine = await loadEngine(o);
  try {
    // With --objective alone, no residual directions: a scan of the features only.
    const featuresOnly = o.objective.length > 0 && o.vectors === undefined && o.randomVectors === undefined;
    const { targets, vectors } = featuresOnly ? { targets: [], vectors: undefined } : targetsFromOptions(o, engine);
    const features = featuresOf(o.objective, engine);
    // --out is made when there is something to write: a scan refused for its corpus leaves nothing behind.
    const ensureOut = () => mkdirSync(o.out, { recursive: true });
    // A bar over the budget's windows when there is one, else over the shards.
    const budgetWindows = o.tokens !== undefined ? Math.floor(o.tokens / o.seqLen) : undefined;
    const bar = o.quiet
      ? undefined
      : new cliProgress.SingleBar(
          { format: `scan [{bar}] {value}/{total} ${budgetWindows ? 'windows' : 'shards'} | {windows} windows, {tokens} tokens | {rate} windows/s`, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
    const started = performance.now();
    // Optional chains: a checkpoint of the wrong shape is refused, with its reason, by scanCorpus.
    const firstWindows = resume?.partial?.windows ?? 0;
    bar?.start(budgetWindows ?? shards.length, budgetWindows ? firstWindows : (resume?.position?.shard ?? 0), {
      windows: firstWindows,
      tokens: resume?.partial?.tokens ?? 0,
      rate: '-',
    });
    const result = await scanCorpus({
      shards,
      tokenizer: engine.tokenizer,
      evaluate: (ids, names, o) => engine.taps(ids, names, o),
      targets,
      features,
      engine,
      n: o.seqLen,
      ...(o.stride !== undefined ? { stride: o.stride } : {}),
      k: o.top,
      batchSize: o.batchSize,
      ...(o.tokens !== undefined ? { tokenBudget: o.tokens } : {}),
      textField: o.textField,
      skipBad: o.skipBad ?? false,
      store,
      ...(resume ? { resume } : {}),
      checkpointEvery: o.checkpointEvery,
      onCheckpoint: async (ck) => {
        ensureOut();
        await writeFileAtomic(ckFile, JSON.stringify(ck));
      },
      onEvent: (e) => {
        if (e.type !== 'batch') return;
        const rate = ((e.windows - firstWindows) / ((performance.now() - started) / 1000)).toFixed(1);
        bar?.update(budgetWindows ? e.windows : e.position.shard, { windows: e.windows, tokens: e.tokens, rate });
      },
    });
    if (!budgetWindows) bar?.update(shards.length);
    bar?.stop();
    const file = path.join(o.out, RESULT_FILE);
    ensureOut();
    await writeFileAtomic(file, `${JSON.stringify({ ...result, model, vectors }, null, 1)}\n`);
    rmSync(ckFile, { force: true });
    if (result.pairs.length > 0) process.stdout.write(pairsTable(result.pairs));
    if (result.features.length > 0) process.stdout.write(featuresTable(result.features));
    const skipped = result.skipped.count ? `, ${result.skipped.count} bad lines skipped` : '';
    process.stderr.write(
      `dreamsweep: ${result.windows} windows (${result.tokens} tokens) from ${result.documents} documents${skipped}; stopped by ${result.stoppedBy}; wrote ${file}\n`,
    );
  } finally {
    engine.dispose();
  }
}

/** Each --objective as a scan feature, keyed and labelled as the same target of a sweep file is. */
function featuresOf(specs: readonly string[], engine: Engine): ScanFeature[] {
  return specs.map((spec) => {
    const objective = parseObjective(spec, engine.shape, engine.tokenizer);
    return featureOf(targetOfSpec(spec, objective), objective);
  });
}

/** A fixed-width table of the features: label, windows counted and left out, mean, max, the 0.99 quantile and the best text. */
export function featuresTable(features: readonly FeatureJson[]): string {
  const f = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(3));
  const rows = features.map((t) => [
    t.label,
    String(t.count),
    String(t.excluded),
    f(t.mean),
    f(t.max),
    f(t.quantiles.find((q) => q.q === 0.99)?.value),
    JSON.stringify(t.top[0]?.text ?? ''),
  ]);
  const head = ['target', 'windows', 'excluded', 'mean', 'max', 'p99', 'best text'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : i < 6 ? c.padStart(widths[i]!) : c)).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
