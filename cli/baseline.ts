// `dreamsweep baseline random`: the random-prompt baseline of a local model for a set of (layer, vector)
// pairs, written to DIR/result.json (docs/baselines.md) with a progress bar while it runs. Also home of the
// option parsing that `dreamsweep scan` shares: layers, the vector set, the engine.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import writeFileAtomic from 'write-file-atomic';
import { addEngineOptions, backendOption, type EngineCliOptions } from './engine-options.js';
import { RANDOM_DEFAULTS, randomBaseline } from '../core/baselines/random.js';
import type { PairJson, ScanTarget } from '../core/corpus/result.js';
import type { Engine } from '../core/engine.js';
import { UserError } from '../core/errors.js';
import { modelIdentity } from '../core/model/identity.js';
import { openEngine } from '../core/model/open-engine.js';
import { checkModelSeqLen } from '../core/model/load.js';
import { randomVectorSet, readVectorFile, type VectorSet } from '../core/objectives/vectors.js';

export const RESULT_FILE = 'result.json';

/** Parses a whole number, with a message that names the option. */
export const int =
  (name: string, min = 0) =>
  (v: string) => {
    const n = Number(v);
    if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      throw new UserError('E_CLI', `--${name}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return n;
  };

/** `4,8,12` -> [4, 8, 12]: distinct, sorted. */
export function parseLayers(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const layers = parts.map((s) => {
    if (!/^\d+$/.test(s)) throw new UserError('E_CLI', `--layers: expected comma-separated layer numbers such as 4,8, got ${JSON.stringify(v)}`);
    return Number(s);
  });
  if (new Set(layers).size !== layers.length) throw new UserError('E_CLI', `--layers: ${JSON.stringify(v)} names a layer twice`);
  return layers.sort((a, b) => a - b);
}

/** The options every vector-set command takes. */
export interface TargetCliOptions extends EngineCliOptions {
  model: string;
  layers?: number[];
  vectors?: string;
  randomVectors?: number;
  seed: number;
  backend?: string;
  threads: number;
  maxBatch?: number;
}

/** The --max-batch option, shared by every command that loads a model. */
export const maxBatchOption = () =>
  new Option('--max-batch <prompts>', 'most prompts per engine call; default: as many as the backend takes (64 MiB of logits on wasm/cpu, 512 MiB on webgpu/tensorflow)').argParser(
    int('max-batch', 1),
  );

/** Why: one definition of --model/--layers/--vectors/--random-vectors/--seed/--backend/--threads for baseline and scan. */
export function addTargetOptions(cmd: Command): Command {
  return addEngineOptions(cmd)
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json, *.safetensors, tokenizer.json; docs/models.md lists the families)')
    .option('--layers <list>', 'comma-separated layers whose resid_pre is read, e.g. 4,8 (default with --vectors: every layer in the file)', parseLayers)
    .option('--vectors <file>', 'JSON mapping layer -> list of vectors (as for `epo`)')
    .option('--random-vectors <N>', "N seeded random unit vectors per layer (the sweeps' randomVectorSet)", int('random-vectors', 1))
    .option('--seed <S>', 'seed of --random-vectors', int('seed'), 0)
    .addOption(backendOption())
    .option('--threads <N>', 'worker threads, one backend each (wasm on CPUs); torch: CPU threads', int('threads', 1), 1)
    .addOption(maxBatchOption());
}

/** Loads the model on the chosen engine: tfjs on one backend or spread over worker threads, or torch. */
export async function loadEngine(o: Pick<TargetCliOptions, 'model' | 'backend' | 'threads' | 'engine' | 'dtype' | 'device' | 'maxBatch'>): Promise<Engine> {
  return openEngine(o.model, o);
}

/** Why: turns the vector options into scan targets, every problem a UserError that says which option to fix. */
export function targetsFromOptions(o: TargetCliOptions, engine: Engine): { targets: ScanTarget[]; vectors: Record<string, unknown> } {
  const { nLayers, dModel } = engine.shape;
  if ((o.vectors === undefined) === (o.randomVectors === undefined)) {
    throw new UserError('E_CLI', 'give exactly one of --vectors FILE and --random-vectors N (with --seed S)');
  }
  let set: VectorSet;
  let layers: number[];
  let vectors: Record<string, unknown>;
  if (o.vectors !== undefined) {
    set = readVectorFile(o.vectors, dModel);
    layers = o.layers ?? [...set.keys()].sort((a, b) => a - b);
    const missing = layers.filter((L) => !set.has(L));
    if (missing.length) {
      throw new UserError(
        'E_CLI',
        `--vectors ${o.vectors}: no vectors for layer ${missing.join(', ')} (the file has ${[...set.keys()].join(', ') || 'none'}); fix --layers or the file`,
      );
    }
    vectors = { file: o.vectors };
  } else {
    if (!o.layers) throw new UserError('E_CLI', '--random-vectors needs --layers, e.g. --layers 4,8');
    layers = o.layers;
    set = randomVectorSet(layers, o.randomVectors!, o.seed, dModel);
    vectors = { count: o.randomVectors, seed: o.seed };
  }
  for (const L of layers) {
    if (L > nLayers) throw new UserError('E_CLI', `--layers: layer ${L} is out of range [0, ${nLayers}] for this ${nLayers}-layer model`);
    if (set.get(L)!.length === 0) throw new UserError('E_CLI', `--vectors ${o.vectors}: layer ${L} has no vectors`);
  }
  return { targets: layers.map((layer) => ({ layer, vectors: set.get(layer)! })), vectors };
}

/** A fixed-width table of the pairs: layer, vector, mean, std, max and the best text. */
export function pairsTable(pairs: readonly PairJson[]): string {
  const f = (x: number | null) => (x === null ? '-' : x.toFixed(3));
  const rows = pairs.map((p) => [String(p.layer), String(p.vector), f(p.mean), f(p.std), f(p.max), JSON.stringify(p.top[0]?.text ?? '')]);
  const head = ['layer', 'vector', 'mean', 'std', 'max', 'best text'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 5 ? c.padStart(widths[i]!) : c)).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export function registerBaseline(program: Command): void {
  const baseline = program.command('baseline').description('reference statistics for z-scores');
  const d = RANDOM_DEFAULTS;
  addTargetOptions(
    baseline.command('random').description('alignment of P uniformly random prompts (special tokens excluded) with every (layer, vector): mean, std, max, best prompts'),
  )
    .requiredOption('--out <dir>', `directory for ${RESULT_FILE}`)
    .option('--prompts <P>', 'random prompts', int('prompts', 2), d.prompts)
    .option('--seq-len <n>', 'tokens per prompt', int('seq-len', 2), d.seqLen)
    .option('--prompt-seed <s>', 'seed of the prompt draw', int('prompt-seed'), d.seed)
    .option('--batch-size <b>', 'prompts per engine call (does not change the result)', int('batch-size', 1), d.batchSize)
    .option('--top <K>', 'best prompts kept per pair', int('top', 1), d.top)
    .option('--quiet', 'no progress bar')
    .action(async (o) => {
      await runBaselineCommand(o);
    });
}

interface BaselineCliOptions extends TargetCliOptions {
  out: string;
  prompts: number;
  seqLen: number;
  promptSeed: number;
  batchSize: number;
  top: number;
  quiet?: boolean;
}

async function runBaselineCommand(o: BaselineCliOptions): Promise<void> {
  checkModelSeqLen(o.model, o.seqLen, '--seq-len');
  const model = modelIdentity(o.model);
  const engine = await loadEngine(o);
  try {
    const { targets, vectors } = targetsFromOptions(o, engine);
    const bar = o.quiet
      ? undefined
      : new cliProgress.SingleBar({ format: 'random [{bar}] {value}/{total} prompts | {rate} prompts/s | {backend}', hideCursor: true }, cliProgress.Presets.shades_classic);
    const started = performance.now();
    bar?.start(o.prompts, 0, { rate: '-', backend: engine.backend });
    const result = await randomBaseline({
      engine,
      targets,
      prompts: o.prompts,
      seqLen: o.seqLen,
      seed: o.promptSeed,
      batchSize: o.batchSize,
      top: o.top,
      onProgress: (p) => bar?.update(p.prompts, { rate: (p.prompts / ((performance.now() - started) / 1000)).toFixed(1) }),
    });
    bar?.stop();
    mkdirSync(o.out, { recursive: true });
    const file = path.join(o.out, RESULT_FILE);
    await writeFileAtomic(file, `${JSON.stringify({ ...result, model, vectors }, null, 1)}\n`);
    process.stdout.write(pairsTable(result.pairs));
    process.stderr.write(`dreamsweep: ${result.prompts} random prompts x ${result.pairs.length} pairs; wrote ${file}\n`);
  } finally {
    engine.dispose();
  }
}
