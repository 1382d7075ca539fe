// The EPO knobs are declared once (core/epo/knobs.ts); the engine, the sweep file, the CLI and the docs
// follow from the declaration.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EPO_DEFAULTS, resolveEpoConfig } from '../../../core/epo/config.js';
import { cliFlag, EPO_KNOBS, EPO_RULES, sweepKnobDocRows } from '../../../core/epo/knobs.js';
import { parseSweep } from '../../../core/sweep/spec.js';
import { runCli } from '../../helpers/cli.js';

const SWEEP = (epo: string) => `name: knobs
model: { path: /m }
study: { layers: [1], vectors: { count: 1 } }
methods: { epo: ${epo} }
storage: { uri: /s }
`;

describe('EPO knobs', () => {
  it('give the engine its defaults and the sweep file the same ones', () => {
    for (const k of EPO_KNOBS) expect(EPO_DEFAULTS[k.key], k.key).toBe(k.default);
    const epo = parseSweep(SWEEP('{}'), 'k.yaml').methods.epo!;
    for (const k of EPO_KNOBS.filter((k) => !k.perRun)) expect(epo[k.key as keyof typeof epo], k.key).toBe(k.default);
  });

  it('check every range and rule the same way in the engine and the sweep file', () => {
    for (const k of EPO_KNOBS.filter((k) => k.min !== undefined && !k.perRun)) {
      const bad = k.min! - 1;
      expect(() => resolveEpoConfig({ [k.key]: bad }, 1000), k.key).toThrow(new RegExp(`EPO option ${k.key}: expected`));
      expect(() => parseSweep(SWEEP(`{ ${k.key}: ${bad} }`), 'k.yaml'), k.key).toThrow(new RegExp(`methods\\.epo\\.${k.key}`));
    }
    const broken = { population: 2, lambdaMin: 0, lambdaMax: 1 };
    expect(EPO_RULES.some((r) => r.broken({ ...EPO_DEFAULTS, ...broken }))).toBe(true);
    expect(() => resolveEpoConfig(broken, 1000)).toThrow(/lambdaMin > 0 when population > 1/);
    expect(() => parseSweep(SWEEP('{ population: 2, lambdaMin: 0, lambdaMax: 1 }'), 'k.yaml')).toThrow(/lambdaMin > 0 when population > 1/);
  });

  it('are the rows of the docs table', () => {
    const doc = readFileSync('docs/sweep-file.md', 'utf8');
    const rows = sweepKnobDocRows();
    const missing = rows.filter((r) => !doc.includes(`${r}\n`));
    expect(missing, `docs/sweep-file.md's methods.epo table should hold exactly these rows:\n${rows.join('\n')}`).toEqual([]);
  });

  it('are the options of dreamsweep epo', async () => {
    const r = await runCli(['epo', '--help']);
    for (const k of EPO_KNOBS.filter((k) => k.cli !== false)) expect(r.stdout, k.key).toContain(cliFlag(k));
  });
});
