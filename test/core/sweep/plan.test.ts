// Unit keys: the fast EPO path hashes exactly the text the generic one does, so no finished unit's key
// changes; dependencies and progress groups go by rule.
import { describe, expect, it } from 'vitest';
import { dependsOn, epoKeyOf, planLayout, planUnits, unitKeyOf, type EpoTarget } from '../../../core/sweep/plan.js';
import { parseSweep } from '../../../core/sweep/spec.js';

describe('planUnits', () => {
  it('keys EPO units as unitKeyOf does, for every kind of target', () => {
    const knobs = { iters: 3, population: 2, bannedText: 'x', lambdaMin: 0.1 };
    const fast = epoKeyOf('model-1', 6, knobs, 'vectors/v.json');
    const targets: EpoTarget[] = [
      { kind: 'resid', layer: 2, vector: 7 },
      { kind: 'neuron', layer: 1, index: 3 },
      { kind: 'logit', token: ' "dog"' },
      { kind: 'logit', token: '#5', bannedText: 'cat' },
    ];
    for (const target of targets) {
      const what = { kind: 'epo', target, seed: 4, seqLen: 6, knobs, vectorsKey: target.kind === 'resid' ? 'vectors/v.json' : undefined };
      expect(fast(target, 4)).toBe(unitKeyOf('epo', 'model-1', what));
    }
  });

  it('orders units so that dependencies go by rule: shards contiguous, the merge after them, the report last', () => {
    const spec = parseSweep(
      `name: s
model: { path: /m }
study: { layers: [1, 2], vectors: { count: 2 }, seqLen: 4 }
methods: { random: {}, scan: { corpus: /c.jsonl, tokens: 100, shards: 3 }, epo: {} }
targets: { neurons: [{ layer: 1, index: 0 }] }
storage: { uri: /s }
`,
      's.yaml',
    );
    const units = planUnits(
      spec,
      'm',
      'vectors/v.json',
      new Map([
        [1, 2],
        [2, 2],
      ]),
    );
    const layout = planLayout(units);
    expect(units.slice(...layout.shards).every((u) => u.kind === 'scan-shard')).toBe(true);
    expect(layout.shards[1] - layout.shards[0]).toBe(3);
    expect(units[layout.merge]!.kind).toBe('scan-merge');
    expect(layout.report).toBe(units.length - 1);
    expect(units.every((u) => u.after === undefined)).toBe(true);
    expect(dependsOn(units[layout.merge]!, units[layout.shards[0]]!)).toBe(true);
    expect(dependsOn(units[layout.report]!, units[0]!)).toBe(true);
    expect(dependsOn(units[0]!, units[layout.shards[0]]!)).toBe(false);
  });
});
