// `dreamsweep report` through the real bin: a partial sweep in a local store gives the page, JSON and
// CSVs, says what is missing; the sweep is found from its folder or from an ID with --store.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { locateSweep } from '../../cli/report.js';
import { buildFixture, UNFINISHED } from '../core/report/fixture.js';
import { runCli } from '../helpers/cli.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'dreamsweep-report-cli-'));

describe('dreamsweep report', () => {
  it('writes the report of a partial sweep from its folder and says what is missing', async () => {
    const fx = await buildFixture();
    const out = tmp();
    const r = await runCli(['report', path.join(fx.dir, 'sweeps', fx.plan.sweepId), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`report: ${path.join(out, 'report.html')}`);
    expect(r.stdout).toMatch(/units: 18 of 21 finished/);
    for (const u of UNFINISHED) expect(r.stdout).toContain(`${u}: not finished`);
    expect(r.stdout).toContain('token attribution: not computed (give --model DIR)');
    expect(r.stdout).toMatch(/targets: 2 neuron\/logit\/SAE; dreaming beat the dataset at comparable CE for \d of 2 compared/);
    for (const f of ['report.html', 'report.json', 'summary_by_layer.csv', 'max_z_by_vector.csv', 'slack.csv', 'best_prompts.csv', 'frontiers.csv']) {
      expect(existsSync(path.join(out, f)), f).toBe(true);
    }
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('rerun with --model DIR');
  });

  it('takes a bare ID with --store, and the same report results', async () => {
    const fx = await buildFixture();
    const [a, b] = [tmp(), tmp()];
    expect((await runCli(['report', fx.plan.sweepId, '--store', fx.dir, '--out', a])).code).toBe(0);
    expect((await runCli(['report', `${pathToFile(fx.dir)}/sweeps/${fx.plan.sweepId}/`, '--out', b])).code).toBe(0);
    expect(readFileSync(path.join(a, 'report.json'), 'utf8')).toBe(readFileSync(path.join(b, 'report.json'), 'utf8'));
  });

  it('explains a bare ID without --store and an unknown sweep, exit code 2', async () => {
    const noStore = await runCli(['report', 'smoke-0123456789ab', '--out', tmp()]);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toMatch(/bare sweep ID: add --store/);
    const unknown = await runCli(['report', path.join(tmp(), 'sweeps', 'nope-1'), '--out', tmp()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no plan for sweep nope-1/);
  });

  it('finds the store root and ID in S3 URIs and local paths', () => {
    expect(locateSweep('s3://bkt/pre/fix/sweeps/demo-1')).toEqual({ storeUri: 's3://bkt/pre/fix', sweepId: 'demo-1' });
    expect(locateSweep('s3://bkt/sweeps/demo-1/plan.json')).toEqual({ storeUri: 's3://bkt', sweepId: 'demo-1' });
    expect(locateSweep('/data/store/sweeps/demo-1/')).toEqual({ storeUri: '/data/store', sweepId: 'demo-1' });
    expect(locateSweep('demo-1', 's3://bkt/x')).toEqual({ storeUri: 's3://bkt/x', sweepId: 'demo-1' });
    expect(() => locateSweep('s3://bkt/pre/demo-1')).toThrow(expect.objectContaining({ code: 'E_CLI' }));
    expect(() => locateSweep('/data/store/demo-1')).toThrow(expect.objectContaining({ code: 'E_CLI' }));
  });
});

function pathToFile(dir: string): string {
  return `file://${dir}`;
}
