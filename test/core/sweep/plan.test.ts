// Unit keys: the fast EPO path hashes exactly the text the generic one does, so no finished unit's key
// changes; dependencies and progress groups go by rule.
import { copyFileSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dependsOn, epoKeyOf, planLayout, planUnits, unitKeyOf, type EpoTarget } from '../../../core/sweep/plan.js';
import { parseSweep } from '../../../core/sweep/spec.js';
import { estimatePlan } from '../../../core/sweep/limits.js';
import { saeIdentity } from '../../../core/objectives/sae.js';

describe('planUnits', () => {
  it('keys EPO units as unitKeyOf does, for every kind of target', () => {
    const knobs = { iters: 3, population: 2, bannedText: 'x', lambdaMin: 0.1 };
    const fast = epoKeyOf('model-1', 6, knobs, 'vectors/v.json');
    const targets: EpoTarget[] = [
      { kind: 'resid', layer: 2, vector: 7 },
      { kind: 'neuron', layer: 1, index: 3 },
      { kind: 'logit', token: ' "dog"' },
      { kind: 'logit', token: '#5', bannedText: 'cat' },
      { kind: 'sae', path: 'test/fixtures/saes/gemma-scope-tiny-gemma2-resid_post.1/params.npz', tap: 'resid_post.1', latent: 7 },
      { kind: 'sae', path: 'test/fixtures/saes/saelens-standard-tiny-llama3-resid_pre.1', latent: 0 },
    ];
    for (const target of targets) {
      // An SAE is keyed by its contents (saeIdentity), not by its path.
      const keyed = target.kind === 'sae' ? { kind: 'sae', latent: target.latent, sae: saeIdentity(target.path), ...(target.tap !== undefined && { tap: target.tap }) } : target;
      const what = { kind: 'epo', target: keyed, seed: 4, seqLen: 6, knobs, vectorsKey: target.kind === 'resid' ? 'vectors/v.json' : undefined };
      expect(fast(target, 4)).toBe(unitKeyOf('epo', 'model-1', what));
    }
  });

  it("keys an SAE target by the SAE's contents, not its path", () => {
    const knobs = { iters: 3 };
    const key = epoKeyOf('model-1', 6, knobs, 'vectors/v.json');
    const fixture = 'test/fixtures/saes/gemma-scope-tiny-gemma2-resid_post.1/params.npz';
    const copy = join(mkdtempSync(join(tmpdir(), 'sae-key-')), 'params.npz');
    copyFileSync(fixture, copy);
    const at = (path: string) => key({ kind: 'sae', path, tap: 'resid_post.1', latent: 7 }, 0);
    expect(at(copy)).toBe(at(fixture));
    writeFileSync(copy, Buffer.concat([readFileSync(fixture), Buffer.from([0])]));
    utimesSync(copy, new Date(), new Date(Date.now() + 5000)); // a new mtime: the identity is read again
    expect(at(copy)).not.toBe(at(fixture));
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

  it('keeps the keys units had before the objective kinds became one table (finished units are found again)', () => {
    // Keys written by the code before the table (commit 10dae45): a change here re-runs every finished unit.
    const spec = parseSweep(
      `name: s
model: { path: /m }
study: { layers: [1, 2], vectors: { count: 2 }, seqLen: 4 }
methods: { random: {}, scan: { corpus: /c.jsonl, tokens: 100, shards: 3 }, epo: { runsPerVector: 2, seeds: [0, 3] } }
targets: { neurons: [{ layer: 1, index: 0..2 }, { layer: 0, index: [5, 1] }], tokens: [" dog", { token: "#5", bannedText: cat }, "x"], seeds: [1, 2] }
storage: { uri: /s }`,
      '/tmp/s.yaml',
    );
    const units = planUnits(
      spec,
      'model-1',
      'vectors/v.json',
      new Map([
        [1, 2],
        [2, 2],
      ]),
    );
    const key = (id: string) => units.find((u) => u.id === id)?.key;
    expect(units).toHaveLength(31);
    expect(key('random/L2')).toBe('units/random/e454884272bf603ae29b0668295a9f1d');
    // Scan format 3 (features) changed the scan units' keys, and so the report's: the only keys that moved.
    expect(key('scan/merge')).toBe('units/scan-merge/deee520d7f2b85f50e124b7ef635be76');
    expect(key('epo/L1/v0/s0')).toBe('units/epo/607b1ad8df2614fe2035cc24ac08978c');
    expect(key('neuron/L1.N2/s1')).toBe('units/epo/37762f88cf22c37d90b5fee32fb52487');
    expect(key('logit/"#5"/s2')).toBe('units/epo/90c734838e8312b2b1aefc668e2b76ad');
    expect(key('report')).toBe('units/report/eb3a207c5c2003c5097b05e4c4053861');
    expect(spec.targets).not.toHaveProperty('saes');
  });

  it("keys the scan units by the sweep's neuron, logit and SAE targets: adding one redoes the scan, nothing else", () => {
    const plan = (targets: string) => {
      const spec = parseSweep(
        `name: s
model: { path: /m }
study: { layers: [1], vectors: { count: 2 }, seqLen: 4 }
methods: { random: {}, scan: { corpus: /c.jsonl, tokens: 100, shards: 2 }, epo: {} }
targets: ${targets}
storage: { uri: /s }`,
        '/tmp/s.yaml',
      );
      return new Map(planUnits(spec, 'model-1', 'vectors/v.json', new Map([[1, 2]])).map((u) => [u.id, u.key]));
    };
    const none = plan('{}');
    const neuron = plan('{ neurons: [{ layer: 1, index: 0 }] }');
    const more = plan('{ neurons: [{ layer: 1, index: 0 }], tokens: [" dog"] }');
    const banned = plan('{ neurons: [{ layer: 1, index: 0 }], tokens: [{ token: " dog", bannedText: cat }] }');
    for (const id of ['scan/shard-1-of-2', 'scan/shard-2-of-2', 'scan/merge']) {
      expect(new Set([none, neuron, more, banned].map((p) => p.get(id))).size, id).toBe(4);
    }
    expect(neuron.get('random/L1')).toBe(none.get('random/L1'));
    expect(more.get('neuron/L1.N0/s0')).toBe(neuron.get('neuron/L1.N0/s0'));
    expect(plan('{ neurons: [{ layer: 1, index: 0 }] }').get('scan/merge')).toBe(neuron.get('scan/merge'));
  });

  it('plans a sweep of targets alone: no random or residual units, the same target units a sweep with a study has', () => {
    const text = (study: string) => `name: s
model: { path: /m }
${study}
methods: { scan: { corpus: /c.jsonl, tokens: 100, shards: 2 }, epo: {} }
targets: { neurons: [{ layer: 1, index: 0 }], tokens: [" dog"], seeds: 0..1 }
storage: { uri: /s }`;
    const alone = parseSweep(text('study: { seqLen: 4 }'), '/tmp/s.yaml');
    const units = planUnits(alone, 'model-1', 'vectors/empty.json', new Map());
    expect(units.map((u) => u.id)).toEqual([
      'scan/shard-1-of-2',
      'scan/shard-2-of-2',
      'scan/merge',
      'neuron/L1.N0/s0',
      'neuron/L1.N0/s1',
      'logit/" dog"/s0',
      'logit/" dog"/s1',
      'report',
    ]);
    expect(estimatePlan(alone, 8, 0).units).toBe(units.length);
    // The EPO units of targets do not depend on the vectors: adding a study (or dropping one) reuses them.
    const withStudy = parseSweep(text('study: { layers: [1], vectors: { count: 2 }, seqLen: 4 }'), '/tmp/s.yaml');
    const keys = new Map(planUnits(withStudy, 'model-1', 'vectors/v.json', new Map([[1, 2]])).map((u) => [u.id, u.key]));
    for (const u of units.filter((u) => u.kind === 'epo')) expect(u.key, u.id).toBe(keys.get(u.id));
    expect(units.find((u) => u.id === 'scan/merge')!.key).not.toBe(keys.get('scan/merge'));
  });
});
