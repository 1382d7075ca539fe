// The launch-time checks of a sweep of targets alone (no study): the model, seqLen, targets, corpus and store
// are checked as for any sweep, with no layers or vectors to look at.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { preflightLocal } from '../../../core/sweep/preflight.js';
import { parseSweep } from '../../../core/sweep/spec.js';

const MODEL = path.resolve('test/fixtures/models/tiny-parallel');
const CORPUS = path.resolve('test/fixtures/corpus/smoke.jsonl');

function sweep(study: string, neuron = 3) {
  const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-preflight-'));
  const text = `name: t
model: { path: ${MODEL}, engine: tfjs }
${study}
methods: { scan: { corpus: ${CORPUS}, tokens: 1k }, epo: { topk: 16 } }
targets: { neurons: [{ layer: 1, index: ${neuron} }], tokens: [" model"], seeds: 0..1 }
storage: { uri: ./store }
`;
  writeFileSync(path.join(dir, 'sweep.yaml'), text);
  return parseSweep(text, path.join(dir, 'sweep.yaml'));
}

describe('preflight of a sweep of targets alone', () => {
  it('passes on the fixture model, with study left out or holding only seqLen', async () => {
    await expect(preflightLocal(sweep(''))).resolves.toBeUndefined();
    await expect(preflightLocal(sweep('study: { seqLen: 6 }'))).resolves.toBeUndefined();
  });

  it('still refuses what does not fit the model: a neuron past d_mlp, a seqLen past the positions', async () => {
    await expect(preflightLocal(sweep('', 9999))).rejects.toMatchObject({ code: 'E_SWEEP_MODEL' });
    await expect(preflightLocal(sweep('study: { seqLen: 100 }'))).rejects.toMatchObject({ code: 'E_SEQ_LEN' });
  });
});
