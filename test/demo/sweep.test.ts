// sweeps/demo.yaml validates, points at the committed demo model and corpus, and fits the model.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';
import { readCheckpoint, readTokenizer } from '../../core/model/load.js';
import { loadSweepFile, studyLayers } from '../../core/sweep/spec.js';

const FILE = join(import.meta.dirname, '../../sweeps/demo.yaml');

describe('sweeps/demo.yaml', () => {
  const spec = loadSweepFile(FILE);

  it('runs every method and both kinds of extra target, on local storage and the embedded Temporal', () => {
    expect(spec.methods.random).toBeDefined();
    expect(spec.methods.scan).toBeDefined();
    expect(spec.methods.epo).toBeDefined();
    expect(spec.targets.neurons.length).toBeGreaterThan(0);
    expect(spec.targets.tokens.length).toBeGreaterThan(0);
    expect(spec.temporal.address).toBeUndefined();
    expect(spec.storage.uri).toBe(join(import.meta.dirname, '../../.dreamsweep/demo-artifacts'));
  });

  it('names the committed model and corpus shards, and its layers, neuron and token exist in the model', () => {
    expect(existsSync(join(spec.model.path, 'model.safetensors'))).toBe(true);
    const shards = spec.methods.scan!.corpus.flatMap((p) => globSync(p, { absolute: true }));
    expect(shards.length).toBe(3);
    const ck = readCheckpoint(spec.model.path);
    const tok = readTokenizer(spec.model.path, ck.cfg);
    for (const l of studyLayers(spec)) expect(l).toBeLessThanOrEqual(ck.cfg.nLayers);
    for (const n of spec.targets.neurons) {
      expect(n.layer).toBeLessThan(ck.cfg.nLayers);
      expect(n.index).toBeLessThan(ck.cfg.dMlp);
    }
    for (const t of spec.targets.tokens) expect(tok.encode(t.token)).toHaveLength(1);
    expect(spec.methods.epo!.topk).toBeLessThanOrEqual(tok.vocabSize);
  });
});
