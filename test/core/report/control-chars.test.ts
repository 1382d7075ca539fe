// Prompt texts decoded from a byte-level vocabulary can hold control characters (NUL, 0x12, 0x1d...):
// report.html shows them visibly and stays valid text; report.json and the CSVs keep them exact.
import { describe, expect, it } from 'vitest';
import { aggregateSweep } from '../../../core/report/aggregate.js';
import { buildReport } from '../../../core/report/index.js';
import { buildFixture } from './fixture.js';

const RAW = '\x00a\x12b\x1d\x7f\u0085\n';
// Control characters a HTML page may not carry raw (all but tab, LF, CR), and the C1 range.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;

describe('control characters in prompt texts', () => {
  it('are shown visibly in report.html and kept exact in report.json and the CSVs', async () => {
    const fx = await buildFixture();
    const data = await aggregateSweep(fx.store, fx.plan.sweepId, { decode: (ids) => `${RAW}${ids.join(' ')}` });
    const files = await buildReport(data);
    const html = files['report.html'] as string;
    expect(html).not.toMatch(CONTROL);
    expect(html).toContain('\\x00a\\x12b\\x1d\\x7f\\x85');
    const json = JSON.parse(files['report.json'] as string);
    expect(json.pairs.find((p: { best: { epo: unknown } }) => p.best.epo).best.epo.text.startsWith(RAW)).toBe(true);
    expect(files['best_prompts.csv'] as string).toContain(RAW);
  });
});
