// The report names each target as the sweep file did: SAE row 1234 of a file, vector i of a JSON file,
// neuron L3.N17, token " fox"; in the page, the CSVs and report.json.
import { describe, expect, it } from 'vitest';
import { aggregateSweep } from '../../../core/report/aggregate.js';
import { attributionRequests } from '../../../core/report/attribution.js';
import { buildReport } from '../../../core/report/index.js';
import { targetLabel, vectorLabel } from '../../../core/report/statistics.js';
import { buildFixture } from './fixture.js';

describe('target labels', () => {
  it('names directions by their source', () => {
    expect(vectorLabel({ count: 3, seed: 0 }, 4, 2)).toBe('L4 v2');
    expect(vectorLabel({ file: '/d/probes/v.json' }, 4, 2)).toBe('L4 vector 2 of probes/v.json');
    const sae = '/saes/blocks.4.hook_resid_pre/sae_weights.safetensors';
    expect(vectorLabel({ file: sae }, 4, 1234)).toBe('L4 row 1234 of W_dec in blocks.4.hook_resid_pre/sae_weights.safetensors');
    expect(vectorLabel({ file: sae, tensor: 'dec', rows: { from: 1000, to: 1999 } }, 4, 234)).toBe('L4 row 1234 of dec in blocks.4.hook_resid_pre/sae_weights.safetensors');
    expect(vectorLabel({ file: '/p/probe.npy', rows: [9, 1234] }, 4, 1)).toBe('L4 row 1234 of p/probe.npy');
    expect(targetLabel({ kind: 'resid', layer: 4, vector: 1 }, { file: '/p/probe.npy', rows: [9, 1234] })).toBe('resid L4 row 1234 of p/probe.npy');
    expect(targetLabel({ kind: 'neuron', layer: 3, index: 17 })).toBe('neuron L3.N17');
    expect(targetLabel({ kind: 'logit', token: ' fox' })).toBe('logit " fox"');
  });

  it('shows SAE rows by their row number in the page, the CSVs and the attribution labels', async () => {
    const fx = await buildFixture();
    const plan = {
      ...fx.plan,
      spec: { ...fx.plan.spec, study: { layers: [1, 2], seqLen: fx.plan.spec.study.seqLen, vectors: { file: '/saes/L1/sae.safetensors', rows: { from: 1232, to: 1234 } } } },
    };
    const data = await aggregateSweep(fx.store, plan);
    expect(data.pairs.map((p) => p.label)).toEqual([1232, 1233, 1234, 1232, 1233, 1234].map((r, i) => `L${i < 3 ? 1 : 2} row ${r} of W_dec in L1/sae.safetensors`));
    const files = await buildReport(data);
    const html = files['report.html'] as string;
    expect(html).toContain('<td>L2 row 1234 of W_dec in L1/sae.safetensors</td>');
    expect(html).toContain('target: L1 row 1233 of W_dec in L1/sae.safetensors');
    expect(files['max_z_by_vector.csv']).toContain('1,2,L1 row 1234 of W_dec in L1/sae.safetensors,');
    expect(
      attributionRequests(data)
        .filter((r) => r.target.kind === 'resid')
        .every((r) => /^EPO L\d row 123\d of W_dec in L1\/sae\.safetensors/.test(r.label)),
    ).toBe(true);
    expect(html).toContain('neuron L1.N3');
  });
});
