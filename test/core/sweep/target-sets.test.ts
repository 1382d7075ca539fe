// Sweep files name many targets at once: neuron index ranges and lists, bare token texts, and directions
// from a .safetensors / .npy matrix; single targets keep the spec, sweep ID and unit ids they had.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../../core/errors.js';
import { planUnits, sweepIdOf } from '../../../core/sweep/plan.js';
import { preflightLocal } from '../../../core/sweep/preflight.js';
import { SweepFileError, parseSweep, type SweepIssue } from '../../../core/sweep/spec.js';
import { encodeTensors } from '../../../core/tensor-file.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const sweep = (targets: string, vectors = '{ count: 1 }', layers = '[1]') => `name: t
model: { path: ${path.join(root, 'test/fixtures/models/tiny-fp16')} }
study:
  layers: ${layers}
  vectors: ${vectors}
methods:
  epo: { topk: 16 }
${targets}
storage: { uri: out }
`;

function issuesOf(text: string): SweepIssue[] {
  try {
    parseSweep(text, 's.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(SweepFileError);
    return (e as SweepFileError).issues;
  }
  throw new Error('expected a SweepFileError, but the sweep parsed');
}

describe('neuron ranges and lists', () => {
  it('expands { index: a..b } (both ends included) and lists into one target each, in order', () => {
    const s = parseSweep(sweep('targets:\n  neurons:\n    - { layer: 1, index: 0..3 }\n    - { layer: 0, index: [9, 5] }\n    - { layer: 0, index: 7 }'), 's.yaml');
    expect(s.targets.neurons).toEqual([
      { layer: 1, index: 0 },
      { layer: 1, index: 1 },
      { layer: 1, index: 2 },
      { layer: 1, index: 3 },
      { layer: 0, index: 9 },
      { layer: 0, index: 5 },
      { layer: 0, index: 7 },
    ]);
    const ids = planUnits(s, 'm', 'vectors/v', new Map([[1, 1]])).map((u) => u.id);
    expect(ids.filter((id) => id.startsWith('neuron/'))).toEqual([
      'neuron/L1.N0/s0',
      'neuron/L1.N1/s0',
      'neuron/L1.N2/s0',
      'neuron/L1.N3/s0',
      'neuron/L0.N9/s0',
      'neuron/L0.N5/s0',
      'neuron/L0.N7/s0',
    ]);
  });

  it('keeps the spec and units of a sweep written one target at a time', () => {
    const one = parseSweep(sweep('targets:\n  neurons: [{ layer: 1, index: 2 }, { layer: 1, index: 3 }]\n  tokens: [{ token: " w4" }, { token: "#7" }]'), 's.yaml');
    const sets = parseSweep(sweep('targets:\n  neurons: [{ layer: 1, index: 2..3 }]\n  tokens: [" w4", "#7"]'), 's.yaml');
    expect(sets.targets).toEqual(one.targets);
    expect(sweepIdOf(sets)).toBe(sweepIdOf(one));
    const units = (s: typeof one) => planUnits(s, 'm', 'vectors/v', new Map([[1, 1]])).map((u) => [u.id, u.key]);
    expect(units(sets)).toEqual(units(one));
    expect(one.targets.tokens).toEqual([{ token: ' w4', bannedText: 'w4' }, { token: '#7' }]);
  });

  it('locates a backwards range, an empty list and a repeated neuron at file:line:col', () => {
    const back = issuesOf(sweep('targets:\n  neurons:\n    - { layer: 1, index: 5..2 }'));
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ line: 10, path: 'targets.neurons[0].index' });
    expect(back[0]!.message).toMatch(/expected an index, a list .* or a range .*got "5\.\.2" \(string\); the range runs backwards; write 2\.\.5/);
    expect(issuesOf(sweep('targets:\n  neurons:\n    - { layer: 1, index: [] }'))[0]!.message).toMatch(/the list is empty/);
    expect(issuesOf(sweep('targets:\n  neurons:\n    - { layer: 1, index: "a..b" }'))[0]!.path).toBe('targets.neurons[0].index');
    const dup = issuesOf(sweep('targets:\n  neurons:\n    - { layer: 1, index: 0..9 }\n    - { layer: 1, index: 4 }'));
    expect(dup[0]).toMatchObject({ line: 11, col: 7, path: 'targets.neurons[1]' });
    expect(dup[0]!.message).toMatch(/each neuron once.*L1\.N4 \(in index 4\) is also in item \[0\]/);
    const tokenDup = issuesOf(sweep('targets:\n  tokens: [" w4", { token: " w4" }]'));
    expect(tokenDup[0]!.message).toMatch(/each token target once/);
  });
});

describe('the report unit', () => {
  it('is keyed by the names it shows (sweep, vectors file), while the units it reads are shared', () => {
    const a = parseSweep(sweep('targets:\n  neurons: [{ layer: 1, index: 2 }]'), '/x/s.yaml');
    const b = parseSweep(sweep('targets:\n  neurons: [{ layer: 1, index: 2 }]').replace('name: t', 'name: u'), '/x/s.yaml');
    const [ua, ub] = [a, b].map((s) => planUnits(s, 'm', 'vectors/v', new Map([[1, 1]])));
    expect(ua!.filter((u) => u.kind !== 'report').map((u) => u.key)).toEqual(ub!.filter((u) => u.kind !== 'report').map((u) => u.key));
    expect(ua!.at(-1)!.key).not.toBe(ub!.at(-1)!.key);
    const [fa, fb] = ['sae.safetensors', 'sae.npy'].map((f) => planUnits(parseSweep(sweep('', `{ file: ${f} }`), '/x/s.yaml'), 'm', 'vectors/v', new Map([[1, 1]])));
    expect(fa!.at(-2)!.key).toBe(fb!.at(-2)!.key); // the same vector set: the same EPO unit
    expect(fa!.at(-1)!.key).not.toBe(fb!.at(-1)!.key);
    // A sweep in another store (another sweep ID) with the same names shares the report key, as before.
    const other = parseSweep(sweep('targets:\n  neurons: [{ layer: 1, index: 2 }]').replace('uri: out', 'uri: elsewhere'), '/x/s.yaml');
    expect(sweepIdOf(other)).not.toBe(sweepIdOf(a));
    expect(planUnits(other, 'm', 'vectors/v', new Map([[1, 1]])).at(-1)!.key).toBe(ua!.at(-1)!.key);
  });
});

describe('vectors from a matrix file', () => {
  it('keeps tensor, rows and layer in the spec, and refuses them where they do not apply', () => {
    const s = parseSweep(sweep('', '{ file: sae/w.safetensors, tensor: W_dec, rows: 0..63, layer: 1 }'), path.join('/x', 's.yaml'));
    expect(s.study.vectors).toEqual({ file: '/x/sae/w.safetensors', tensor: 'W_dec', rows: { from: 0, to: 63 }, layer: 1 });
    expect(parseSweep(sweep('', '{ file: p.npy, rows: [3, 1] }'), '/x/s.yaml').study.vectors).toEqual({ file: '/x/p.npy', rows: [3, 1] });
    expect(issuesOf(sweep('', '{ file: v.json, rows: [1] }'))[0]).toMatchObject({ path: 'study.vectors.rows' });
    expect(issuesOf(sweep('', '{ count: 2, tensor: W_dec }'))[0]!.message).toMatch(/no tensor without a \.safetensors or \.npy file/);
    expect(issuesOf(sweep('', '{ file: p.npy, tensor: W_dec }'))[0]!.message).toMatch(/a \.npy file holds one array/);
    const layer = issuesOf(sweep('', '{ file: p.npy, layer: 2 }'));
    expect(layer[0]).toMatchObject({ line: 5, path: 'study.vectors.layer' });
    expect(layer[0]!.message).toMatch(/one of study\.layers \(1\)/);
  });

  it('preflights SAE rows against the model, and refuses a cfg.json naming another layer', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sae-'));
    const W = Float32Array.from({ length: 4 * 64 }, (_, i) => 1 + (i % 7));
    writeFileSync(path.join(d, 'w.safetensors'), encodeTensors({ W_dec: { dtype: 'F32', shape: [4, 64], data: W } }));
    writeFileSync(path.join(d, 'cfg.json'), JSON.stringify({ hook_name: 'blocks.1.hook_resid_pre' }));
    const ok = parseSweep(sweep('', '{ file: w.safetensors, rows: 1..2 }', '[1]'), path.join(d, 's.yaml'));
    await expect(preflightLocal(ok)).resolves.toBeUndefined();
    const other = parseSweep(sweep('', '{ file: w.safetensors }', '[0]'), path.join(d, 's.yaml'));
    const e = await preflightLocal(other).catch((x: unknown) => x);
    expect(isUserError(e)).toBe(true);
    expect((e as Error).message).toMatch(/study\.vectors has no vectors for layers 0/);
    const wide = parseSweep(sweep('', '{ file: w.safetensors, layer: 0 }', '[0, 1]'), path.join(d, 's.yaml'));
    await expect(preflightLocal(wide)).rejects.toThrow(/w\.safetensors: tensor W_dec: layer 0 was asked for, but .*resid_pre\.1/);
  });
});
