// `dreamsweep inspect --json` through the real bin: the JSON carries every layer and matches transformers.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { GOLDEN, MODELS, flat, readGolden, scaledMaxDiff } from '../core/model/helpers.js';
import type { InspectReport } from '../../cli/inspect.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/dreamsweep.js');

describe('dreamsweep inspect', () => {
  it('prints one JSON object with every layer, matching transformers within 1e-4', async () => {
    const golden = readGolden('tiny-serial-rope1');
    const ids = golden.prompts.map((p) => p.join(',')).join(';');
    const { stdout } = await run(process.execPath, [BIN, 'inspect', '--model', join(MODELS, 'tiny-serial-rope1'), '--ids', ids, '--json'], {
      env: { ...process.env, DREAMSWEEP_BACKEND: 'wasm' },
    });
    const report = JSON.parse(stdout) as InspectReport;
    expect(report.prompts).toEqual(golden.prompts);
    expect(Object.keys(report.resid_pre).sort()).toEqual(['0', '1', '2', '3']);
    expect(Object.keys(report.mlp_post).sort()).toEqual(['0', '1', '2']);
    expect(scaledMaxDiff(flat(report.logits_last), flat(golden.logits_last))).toBeLessThan(1e-4);
    expect(scaledMaxDiff(report.ce, golden.ce)).toBeLessThan(1e-4);
    for (const [layer, rows] of Object.entries(report.resid_pre)) {
      expect(scaledMaxDiff(flat(rows), flat(golden.taps[`resid_pre.${layer}`]!))).toBeLessThan(1e-4);
    }
    for (const [layer, rows] of Object.entries(report.mlp_post)) {
      expect(scaledMaxDiff(flat(rows), flat(golden.taps[`mlp_post.${layer}`]!))).toBeLessThan(1e-4);
    }
  });

  it('on a Llama 3 model: --ids computed as given (the golden prompts hold their BOS), every tap kind; --text puts the BOS first', async () => {
    const golden = readGolden('tiny-llama3') as ReturnType<typeof readGolden> & { texts: Array<{ text: string; ids_special: number[] }> };
    const model = join(MODELS, 'tiny-llama3');
    const env = { ...process.env, DREAMSWEEP_BACKEND: 'wasm' };
    const ids = golden.prompts.map((p) => p.join(',')).join(';');
    const report = JSON.parse((await run(process.execPath, [BIN, 'inspect', '--model', model, '--ids', ids, '--json'], { env })).stdout) as InspectReport;
    expect(report.prompts).toEqual(golden.prompts);
    expect(scaledMaxDiff(report.ce, golden.ce)).toBeLessThan(1e-4);
    for (const kind of ['resid_pre', 'resid_post', 'mlp_post', 'mlp_out'] as const) {
      expect(Object.keys(report[kind]).length, kind).toBeGreaterThan(0);
      for (const [layer, rows] of Object.entries(report[kind])) {
        expect(scaledMaxDiff(flat(rows), flat(golden.taps[`${kind}.${layer}`]!)), `${kind}.${layer}`).toBeLessThan(1e-4);
      }
    }
    const text = golden.texts[0]!;
    const fromText = JSON.parse((await run(process.execPath, [BIN, 'inspect', '--model', model, '--text', text.text, '--json'], { env })).stdout) as InspectReport;
    expect(fromText.prompts).toEqual([text.ids_special]);
  });

  it('--objective (repeatable) prints each objective on each prompt, every kind; an SAE latent as its library encodes it', async () => {
    const golden = JSON.parse(readFileSync(join(GOLDEN, 'sae-gemma-scope-tiny-gemma2.json'), 'utf8')) as { prompts: number[][]; acts: number[][] };
    const npz = join(import.meta.dirname, '../fixtures/saes/gemma-scope-tiny-gemma2-resid_post.1/params.npz');
    const specs = [`sae:resid_post.1:${npz}#7`, 'neuron:0:3', 'logit:#5', 'resid:1:random:0'];
    const args = [BIN, 'inspect', '--model', join(MODELS, 'tiny-gemma2'), '--ids', golden.prompts.map((p) => p.join(',')).join(';'), ...specs.flatMap((s) => ['--objective', s])];
    const env = { ...process.env, DREAMSWEEP_BACKEND: 'wasm' };
    const report = JSON.parse((await run(process.execPath, [...args, '--json'], { env })).stdout) as InspectReport;
    expect(Object.keys(report.objectives!)).toEqual(specs);
    for (const values of Object.values(report.objectives!)) expect(values).toHaveLength(golden.prompts.length);
    expect(
      scaledMaxDiff(
        report.objectives![specs[0]!]!,
        golden.acts.map((row) => row[7]!),
      ),
    ).toBeLessThan(1e-5);
    expect(
      scaledMaxDiff(
        report.objectives!['neuron:0:3']!,
        report.mlp_post['0']!.map((row) => row[3]!),
      ),
    ).toBeLessThan(1e-6);
    const text = (await run(process.execPath, args, { env })).stdout;
    expect(text).toContain('objectives:');
    expect(text).toContain(`  ${specs[0]}`);
  });

  it('exits 2 with the file named when the model directory is incomplete', async () => {
    const err = await run(process.execPath, [BIN, 'inspect', '--model', '/nonexistent-model', '--ids', '1,2', '--json']).catch((e: unknown) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toContain('/nonexistent-model/config.json');
  });
});
