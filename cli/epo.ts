// `dreamsweep epo`: one EPO (or GCG) run on a local model, written to a directory: history, checkpoints,
// frontier. Progress is drawn from the library's events; the frontier is printed as a table at the end.
import { existsSync, mkdirSync, readFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import writeFileAtomic from 'write-file-atomic';
import { decodeCheckpoint, encodeCheckpoint } from '../core/epo/checkpoint.js';
import { EPO_DEFAULTS, gcg, resolveEpoConfig, resultConfig, type EpoConfig } from '../core/epo/config.js';
import { cliFlag, EPO_KNOBS } from '../core/epo/knobs.js';
import { UNIT_FILES } from '../core/sweep/layout.js';
import { epo, type EpoState } from '../core/epo/epo.js';
import { paretoFrontier, type FrontierPoint } from '../core/epo/frontier.js';
import { encodeHistory } from '../core/epo/history.js';
import { UserError } from '../core/errors.js';
import { availableParallelism } from 'node:os';
import { describeEngine } from '../core/model/open-engine.js';
import { loadEngine, maxBatchOption } from './baseline.js';
import { addEngineOptions, backendOption } from './engine-options.js';
import { OBJECTIVE_FORMS } from '../core/objectives/kinds/index.js';
import { describeObjective, parseObjective } from '../core/objectives/spec.js';
import { modelIdentity } from '../core/model/identity.js';
import { checkSeqLen, modelShape } from '../core/model/config.js';
import { readConfig, readTokenizer } from '../core/model/load.js';

// The run's files carry the names a sweep unit's have in the store (core/sweep/layout.ts).
const FILES = {
  history: UNIT_FILES.history,
  checkpoint: UNIT_FILES.epoCheckpoint,
  frontier: UNIT_FILES.frontier,
  runLog: 'run-log.jsonl',
} as const;

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UserError('E_CLI', `--${name}: expected an integer, got ${JSON.stringify(v)}`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UserError('E_CLI', `--${name}: expected a number, got ${JSON.stringify(v)}`);
  return n;
};

export function registerEpo(program: Command): void {
  const d = EPO_DEFAULTS;
  const cmd = program
    .command('epo')
    .description('optimise prompts for one objective with EPO (or GCG) and write history, checkpoints and the Pareto frontier')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json, *.safetensors, tokenizer.json; docs/models.md lists the families)')
    .requiredOption('--objective <spec>', `the objective (docs/objectives.md): ${OBJECTIVE_FORMS.join(' | ')}`)
    .requiredOption('--out <dir>', 'directory for history, checkpoints and frontier.json')
    .option('--resume', 'continue the run found in --out up to --iters in total');
  // The EPO knobs, from their declarations (core/epo/knobs.ts). Without --children, GCG takes EPO's M x r.
  for (const k of EPO_KNOBS) {
    const flag = cliFlag(k);
    if (k.type === 'bool') cmd.option(flag, k.help);
    else if (k.type === 'text') cmd.option(`${flag} <text>`, k.help);
    else {
      const parse = (k.type === 'int' ? int : num)(flag.slice(2));
      const arg = `${flag} <${k.symbol && !k.symbol.includes('_') ? k.symbol : 'x'}>`;
      if (k.key === 'children') cmd.option(arg, `${k.help} (default ${d.children}; with --gcg ${d.population * d.children}, EPO's M x r)`, parse);
      else cmd.option(arg, k.help, parse, k.default as number);
    }
  }
  cmd
    .option('--init-text <text>', 'initial prompt text (default: random tokens)')
    .option('--init-ids <ids>', 'initial prompt as comma-separated token ids')
    .option('--gcg', `GCG: population 1, lambda 0, ${d.population * d.children} children unless --children is given`)
    .addOption(backendOption())
    .option(
      '--threads <N>',
      'worker threads, one backend each: every batch is spread over them (default: the cores this process may use); torch: CPU threads',
      int('threads'),
      availableParallelism(),
    )
    .addOption(maxBatchOption())
    .option('--quiet', 'no progress bar');
  addEngineOptions(cmd).action(async (o: EpoCliOptions) => {
    await runEpoCommand(o);
  });
}

/** The knobs arrive under their own names (commander camel-cases `--lambda-min` to lambdaMin). */
type EpoCliOptions = Partial<Record<(typeof EPO_KNOBS)[number]['key'], number | boolean | string>> & {
  model: string;
  objective: string;
  out: string;
  resume?: boolean;
  iters: number;
  initText?: string;
  initIds?: string;
  gcg?: boolean;
  backend?: string;
  threads: number;
  maxBatch?: number;
  quiet?: boolean;
  engine?: string;
  dtype?: string;
  device?: string;
};

async function runEpoCommand(o: EpoCliOptions): Promise<void> {
  // Options are checked before anything is loaded or written: a refused run leaves no --out behind, and the
  // objective and the config need only the model's config.json and tokenizer, so a mistake is reported before the
  // weights load.
  if (o.threads < 1) throw new UserError('E_CLI', `--threads: expected an integer >= 1, got ${o.threads}`);
  const cfg = readConfig(o.model);
  const shape = modelShape(cfg);
  const tokenizer = readTokenizer(o.model, cfg);
  checkSeqLen(cfg, o.seqLen as number, '--seq-len', tokenizer);
  const objective = parseObjective(o.objective, shape, tokenizer);
  // Key order as before (the initial prompt first): the history records the config as JSON.
  let config: Partial<EpoConfig> = {
    initText: o.initText,
    initIds: o.initIds?.split(',').map(int('init-ids')),
    ...(Object.fromEntries(EPO_KNOBS.map((k) => [k.key, o[k.key]])) as Partial<EpoConfig>),
  };
  if (o.gcg) {
    // GCG is EPO with one member and no fluency term: a population or lambda given with it would be overridden.
    const given = (['population', 'lambdaMin', 'lambdaMax'] as const).filter((k) => config[k] !== undefined && !(k === 'population' ? config[k] === 1 : config[k] === 0));
    if (given.length) {
      const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new UserError(
        'E_CLI_CONFLICT',
        `--gcg runs population 1 and lambda 0; ${given.map((k) => `${flag(k)} ${config[k]}`).join(', ')} contradicts it: drop one or the other`,
      );
    }
    config = gcg(config);
  }
  const info = { objective: describeObjective(objective), objectiveSpec: o.objective, model: modelIdentity(o.model) };

  const resolved = resolveEpoConfig(config, shape.dVocab);
  // The initial text's length, before the weights load (EPO itself would refuse it only after loading them).
  if (resolved.initText !== undefined) {
    const n = tokenizer.encode(resolved.initText).length;
    if (n !== resolved.seqLen) {
      throw new UserError(
        'E_EPO_CONFIG',
        `--init-text: ${JSON.stringify(resolved.initText)} encodes to ${n} tokens but --seq-len is ${resolved.seqLen}; give --seq-len ${n}, or a text of ${resolved.seqLen} tokens`,
      );
    }
  }
  const ckFile = path.join(o.out, FILES.checkpoint);
  let resume: EpoState | undefined;
  if (o.resume) {
    if (!existsSync(ckFile)) throw new UserError('E_EPO_RESUME', `--resume: ${ckFile} does not exist; run without --resume to start`);
    const ck = decodeCheckpoint(readFileSync(ckFile), ckFile);
    if (JSON.stringify(ck.info) !== JSON.stringify(info)) {
      throw new UserError('E_EPO_RESUME', `--resume: ${ckFile} was made for another objective or model; use the same --model and --objective, or another --out`);
    }
    if (ck.state.iteration > o.iters) {
      throw new UserError(
        'E_EPO_RESUME',
        `--resume: the run in ${o.out} has done ${ck.state.iteration} iterations, more than --iters ${o.iters}; give --iters ${ck.state.iteration} or more`,
      );
    }
    resume = ck.state;
  } else if (existsSync(ckFile)) {
    throw new UserError('E_EPO_OUT_EXISTS', `${o.out} already holds a run (${FILES.checkpoint}); pass --resume to continue it, or choose another --out`);
  }

  const engine = await loadEngine(o);
  process.stderr.write(`dreamsweep: backend ${await describeEngine(engine)}\n`);
  try {
    mkdirSync(o.out, { recursive: true });

    const bar = o.quiet
      ? undefined
      : new cliProgress.SingleBar(
          { format: 'epo [{bar}] {value}/{total} it | best f {best} | non-dominated {nonDominated} | {rate} it/s', hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
    bar?.start(o.iters, resume?.iteration ?? 0, { best: '-', nonDominated: '-', rate: '-' });
    const runLog = path.join(o.out, FILES.runLog);
    const result = await epo(engine, objective, config, {
      resume,
      onProgress: (p) => {
        bar?.update(p.iteration, { best: Math.max(...p.slotF).toFixed(3), nonDominated: p.nonDominated, rate: p.itersPerSecond.toFixed(2) });
        // Timings live here, apart from the deterministic history and frontier.
        appendFileSync(runLog, `${JSON.stringify({ at: new Date().toISOString(), ...p })}\n`);
      },
      onCheckpoint: async (state) => {
        await writeFileAtomic(ckFile, Buffer.from(encodeCheckpoint(state, info)));
      },
    });
    bar?.stop();

    await writeFileAtomic(path.join(o.out, FILES.history), Buffer.from(encodeHistory(result.history, { config: resultConfig(result.state.config), ...info })));
    const points = paretoFrontier([result.history], (ids) => engine.tokenizer.decode(ids));
    await writeFileAtomic(path.join(o.out, FILES.frontier), `${JSON.stringify({ points }, null, 1)}\n`);
    process.stdout.write(frontierTable(points));
    process.stderr.write(`dreamsweep: wrote ${FILES.history}, ${FILES.checkpoint}, ${FILES.frontier} to ${o.out}\n`);
  } finally {
    engine.dispose();
  }
}

export function frontierTable(points: FrontierPoint[]): string {
  const rows = points.map((p) => [p.lambda.toPrecision(3), p.f.toFixed(3), p.ce.toFixed(3), p.perplexity.toFixed(1), JSON.stringify(p.text)]);
  const head = ['lambda', 'f', 'CE', 'perplexity', 'text'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 4 ? c.padStart(widths[i]!) : c)).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
