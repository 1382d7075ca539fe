// `dreamsweep inspect`: run a model on a few prompts and show what the engine sees: next-token
// logits, cross-entropy and every tap at the last token (JSON for tests and scripts, a summary for people).
import type { Command } from 'commander';
import type { Engine, Objective } from '../core/engine.js';
import { OBJECTIVE_FORMS } from '../core/objectives/kinds/index.js';
import { parseObjective } from '../core/objectives/spec.js';
import { UserError } from '../core/errors.js';
import { describeEngine, openEngine } from '../core/model/open-engine.js';
import { rawEngine } from '../core/model/bos.js';
import { addEngineOptions, backendOption, type EngineCliOptions } from './engine-options.js';
import { parseTap, tapNames, type TapKind } from '../core/model/taps.js';
import { int } from './baseline.js';

interface InspectOptions extends EngineCliOptions {
  model: string;
  ids?: string;
  text?: string[];
  backend?: string;
  json?: boolean;
  top: number;
  objective: string[];
}

/** The inspection report, one entry per prompt (layer keys are strings, as JSON objects need). */
export interface InspectReport {
  prompts: number[][];
  ce: number[];
  logits_last: number[][];
  resid_pre: Record<string, number[][]>;
  resid_post: Record<string, number[][]>;
  mlp_post: Record<string, number[][]>;
  mlp_out: Record<string, number[][]>;
  /** Per --objective SPEC as written: its value on each prompt (only when some were asked for). */
  objectives?: Record<string, number[]>;
}

export function registerInspect(program: Command): void {
  const cmd = program
    .command('inspect')
    .description('run a model on prompts: next-token logits, cross-entropy and every tap at the last token')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json, *.safetensors, tokenizer.json; docs/models.md lists the families)')
    .option('--ids <ids>', 'token ids, comma-separated, computed exactly as given (no BOS added); several prompts separated by ";" (e.g. "1,2,3;4,5,6")')
    .option('--text <text...>', "prompt text(s), tokenized with the model's tokenizer.json as its post-processing does (a BOS first where it adds one)")
    .addOption(backendOption('tfjs backend (default: env DREAMSWEEP_BACKEND, else wasm)'))
    .option('--json', 'print one JSON object: prompts, ce, logits_last, resid_pre, resid_post, mlp_post, mlp_out (and objectives)')
    .option(
      '--objective <spec>',
      `an objective to evaluate on each prompt, repeatable (docs/objectives.md): ${OBJECTIVE_FORMS.join(' | ')}`,
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--top <k>', 'next tokens to list per prompt in the summary', int('top', 1), 5);
  addEngineOptions(cmd).action(async (opts: InspectOptions) => {
    // Ids exactly as parsePrompts gives them: the engine adds no BOS of its own here.
    const engine = rawEngine(await openEngine(opts.model, opts));
    try {
      if (!opts.json) process.stderr.write(`backend: ${await describeEngine(engine)}\n`);
      const prompts = parsePrompts(opts, engine);
      // Parsed before anything runs: a bad spec is one line, and nothing else is computed.
      const objectives = opts.objective.map((spec) => ({ spec, objective: parseObjective(spec, engine.shape, engine.tokenizer) }));
      const report = await inspect(engine, prompts, objectives);
      if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
      else process.stdout.write(summary(engine, report, opts.top));
    } finally {
      engine.dispose();
    }
  });
}

function parsePrompts(opts: InspectOptions, engine: Engine): number[][] {
  if ((opts.ids === undefined) === (opts.text === undefined)) {
    throw new UserError('E_CLI_USAGE', 'inspect: give exactly one of --ids "1,2,3;4,5" or --text "..."');
  }
  if (opts.text) {
    return opts.text.map((t, i) => {
      const bos = engine.tokenizer.bos;
      const ids = [...(bos === undefined ? [] : [bos]), ...engine.tokenizer.encode(t)];
      if (ids.length === 0) throw new UserError('E_CLI_USAGE', `--text #${i + 1}: the text encodes to no tokens`);
      return ids;
    });
  }
  return opts.ids!.split(';').map((p, i) => {
    // Digits only: Number('') is 0, so an empty --ids or a stray comma would otherwise become token 0.
    const parts = p.split(',').map((s) => s.trim());
    const ids = parts.map(Number);
    if (parts.some((s) => !/^\d+$/.test(s))) {
      throw new UserError('E_CLI_USAGE', `--ids: prompt ${i + 1}: expected comma-separated token ids, got "${p}"`);
    }
    return ids;
  });
}

/** Runs every tap on the prompts; prompts of different lengths run as separate batches. */
export async function inspect(engine: Engine, prompts: number[][], objectives: Array<{ spec: string; objective: Objective }> = []): Promise<InspectReport> {
  const names = tapNames(engine.shape);
  const report: InspectReport = { prompts, ce: [], logits_last: [], resid_pre: {}, resid_post: {}, mlp_post: {}, mlp_out: {} };
  // Every tap but the logits, by kind then layer (layer keys are strings, as JSON objects need).
  const layered = names.map((name) => ({ name, tap: parseTap(name, engine.shape) })).filter(({ tap }) => tap.kind !== 'logits');
  const into = (kind: TapKind) => report[kind as Exclude<TapKind, 'logits'>];
  for (const { tap } of layered) into(tap.kind)[String(tap.layer)] = [];
  const byLength = new Map<number, number[]>();
  prompts.forEach((p, i) => byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]));
  const rows = new Array<{ ce: number; values: Record<string, number[]> }>(prompts.length);
  for (const indices of byLength.values()) {
    const got = await engine.taps(
      indices.map((i) => prompts[i]!),
      names,
    );
    indices.forEach((promptIndex, b) => {
      const values: Record<string, number[]> = {};
      for (const name of names) {
        const d = got.dims[name]!;
        values[name] = Array.from(got.values[name]!.subarray(b * d, (b + 1) * d));
      }
      rows[promptIndex] = { ce: got.ce[b]!, values };
    });
  }
  for (const row of rows) {
    report.ce.push(row.ce);
    report.logits_last.push(row.values['logits']!);
    for (const { name, tap } of layered) into(tap.kind)[String(tap.layer)]!.push(row.values[name]!);
  }
  if (objectives.length > 0) {
    report.objectives = {};
    for (const { spec, objective } of objectives) {
      const values = new Array<number>(prompts.length);
      for (const indices of byLength.values()) {
        const { f } = await engine.evaluate(
          indices.map((i) => prompts[i]!),
          objective,
        );
        indices.forEach((promptIndex, b) => (values[promptIndex] = f[b]!));
      }
      report.objectives[spec] = values;
    }
  }
  return report;
}

function summary(engine: Engine, report: InspectReport, top: number): string {
  const lines: string[] = [];
  report.prompts.forEach((ids, i) => {
    const logits = report.logits_last[i]!;
    const max = Math.max(...logits);
    const z = logits.reduce((s, v) => s + Math.exp(v - max), 0);
    const ranked = logits
      .map((v, t) => ({ t, p: Math.exp(v - max) / z }))
      .sort((a, b) => b.p - a.p)
      .slice(0, Math.max(1, top));
    const ce = report.ce[i]!;
    lines.push(`prompt ${i + 1}: ${JSON.stringify(engine.tokenizer.decode(ids))} (${ids.length} tokens: ${ids.join(',')})`);
    lines.push(Number.isNaN(ce) ? '  cross-entropy: n/a (one token)' : `  cross-entropy: ${ce.toFixed(4)} nats/token, perplexity ${Math.exp(ce).toFixed(2)}`);
    lines.push('  next token:');
    for (const { t, p } of ranked) {
      const text = t < engine.tokenizer.vocabSize ? JSON.stringify(engine.tokenizer.decode([t])) : '(padding id)';
      lines.push(`    ${String(t).padStart(6)}  ${(100 * p).toFixed(2).padStart(6)}%  ${text}`);
    }
    const objectives = Object.entries(report.objectives ?? {});
    if (objectives.length > 0) lines.push('  objectives:');
    for (const [spec, values] of objectives) lines.push(`    ${values[i]!.toPrecision(6).padStart(12)}  ${spec}`);
  });
  return lines.join('\n') + '\n';
}
