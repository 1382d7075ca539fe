// `dreamsweep export`: a neuron/logit/SAE target's dreams and dataset examples as Neuronpedia activation
// records, one JSON file and one JSONL file (core/report/export.ts; fields in docs/export.md). Dreams' per-token
// values need the model: --model DIR, else the plan's model directory when it is local.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { addEngineOptions, backendOption } from './engine-options.js';
import { addSweepStoreOptions, openSweepStore, type SweepStoreCliOptions } from './report.js';
import type { Engine } from '../core/engine.js';
import { UserError } from '../core/errors.js';
import { readSweepPlan } from '../core/report/index.js';
import { datasetOf, exportData, exportFiles, exportName, exportRecords } from '../core/report/export.js';
import { closeS3Clients } from '../core/store/index.js';

export interface ExportCliOptions extends SweepStoreCliOptions {
  target: string;
  out: string;
  model?: string;
  backend?: string;
  engine?: string;
  dtype?: string;
  device?: string;
}

export function registerExport(program: Command): void {
  const cmd = program
    .command('export')
    .description("write a neuron/logit/SAE target's dreams and dataset examples as Neuronpedia activation records (JSON and JSONL)")
    .argument('<sweep>', 'a sweep ID (with --store), or where it lives: s3://bucket/prefix/sweeps/<id> or DIR/sweeps/<id>')
    .requiredOption('--target <name>', 'the target as the report names it (`neuron L1.N3`, `logit " fox"`) or its key JSON')
    .option('--out <dir>', 'directory for <target>.activations.json and .jsonl', '.');
  addSweepStoreOptions(cmd)
    .option('--model <dir>', "the sweep's model directory (default: the plan's, when local): computes the dreams' per-token activations")
    .addOption(backendOption('tfjs backend for the model'));
  addEngineOptions(cmd).action(async (sweep: string, o: ExportCliOptions) => {
    await runExportCommand(sweep, o);
  });
}

export async function runExportCommand(sweep: string, o: ExportCliOptions): Promise<void> {
  const { store, sweepId } = openSweepStore(sweep, o);
  let engine: Engine | undefined;
  try {
    const plan = await readSweepPlan(store, sweepId);
    // The target and the scan first: a wrong name or a missing scan is said before a model loads.
    const { data, target } = await exportData(store, plan, o.target);
    datasetOf(data, target);
    const modelDir = o.model ?? plan.spec.model.path;
    if (!o.model && (modelDir.startsWith('s3://') || !existsSync(path.join(modelDir, 'config.json')))) {
      throw new UserError(
        'E_EXPORT_MODEL',
        `the dreams' per-token activations need the model, and the plan's model directory ${modelDir} is not on this machine; add --model DIR (the sweep's model, ${plan.modelId.slice(0, 16)})`,
      );
    }
    const { openEngine } = await import('../core/model/open-engine.js');
    engine = await openEngine(modelDir, o);
    const file = await exportRecords(engine, data, target);
    const { json, jsonl } = exportFiles(file);
    mkdirSync(o.out, { recursive: true });
    const base = path.join(o.out, `${exportName(target.label)}.activations`);
    writeFileSync(`${base}.json`, json);
    writeFileSync(`${base}.jsonl`, jsonl);
    const dreams = file.activations.filter((r) => r.kind === 'dream').length;
    process.stdout.write(`export: ${path.resolve(`${base}.json`)} and .jsonl\n`);
    process.stdout.write(`${target.label}: ${dreams} dreams, ${file.activations.length - dreams} dataset examples\n`);
    if (dreams === 0) process.stdout.write(`no dreams: no EPO run of ${target.label} has finished (${target.seeds.finished} of ${target.seeds.planned} seeds)\n`);
  } finally {
    engine?.dispose();
    closeS3Clients();
  }
}
