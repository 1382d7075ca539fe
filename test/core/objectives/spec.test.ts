// Objective specs from the command line and sweep files, parsed into engine-neutral data.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseObjective } from '../../../core/objectives/spec.js';
import { randomVectorSet } from '../../../core/objectives/vectors.js';
import { fakeEngine } from '../../helpers/fake-engine.js';

const engine = fakeEngine({ vocab: 20, seqLen: 4, words: { 5: 'dog' } });
const parse = (spec: string) => parseObjective(spec, engine.shape, engine.tokenizer);

describe('objective specs', () => {
  it('makes a seeded random unit direction for resid:<layer>:random:<seed>', () => {
    const a = parse('resid:2:random:7');
    const b = parse('resid:2:random:7');
    if (a.kind !== 'resid' || b.kind !== 'resid') throw new Error('not resid');
    expect(a.layer).toBe(2);
    expect(a.vector).toHaveLength(8);
    expect(Array.from(a.vector)).toEqual(Array.from(b.vector));
    expect(Math.hypot(...a.vector)).toBeCloseTo(1, 5);
  });

  it('reads vector i of a layer from a vectors file', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'vec-')), 'v.json');
    writeFileSync(file, JSON.stringify({ 1: [Array(8).fill(0.5), Array.from({ length: 8 }, (_, i) => i)] })); // a zero vector is refused
    const o = parse(`resid:1:${file}#1`);
    expect(o.kind === 'resid' && Array.from(o.vector)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(() => parse(`resid:0:${file}#0`)).toThrow(/no vectors for layer 0/);
    expect(() => parse(`resid:1:${file}#2`)).toThrow(/vector index 2 is out of range/);
  });

  it('parses neurons and logits by text or id', () => {
    expect(parse('neuron:1:31')).toEqual({ kind: 'neuron', layer: 1, index: 31 });
    expect(parse('logit:dog')).toEqual({ kind: 'logit', token: 5 });
    expect(parse('logit:#3')).toEqual({ kind: 'logit', token: 3 });
  });

  it('rejects what does not fit the model with the valid range', () => {
    expect(() => parse('neuron:2:0')).toThrow(/layer 2 is out of range \[0, 1\]/);
    expect(() => parse('neuron:0:32')).toThrow(/neuron index 32 is out of range \[0, 31\]/);
    expect(() => parse('resid:3:random:1')).toThrow(/layer 3 is out of range \[0, 2\]/);
    expect(() => parse('logit:dog dog')).toThrow(/2 tokens/);
    expect(() => parse('resid:1:nofile')).toThrow(/random:<seed> or <vectors.json>#<index>/);
    expect(() => parse('nope')).toThrow(/unknown objective kind/);
  });

  it('draws distinct, reproducible random vectors per (layer, index)', () => {
    const a = randomVectorSet([1, 2], 3, 42, 8);
    const b = randomVectorSet([1, 2], 3, 42, 8);
    expect(Array.from(a.get(2)![1]!)).toEqual(Array.from(b.get(2)![1]!));
    expect(Array.from(a.get(1)![0]!)).not.toEqual(Array.from(a.get(2)![0]!));
    expect(Array.from(a.get(1)![0]!)).not.toEqual(Array.from(a.get(1)![1]!));
  });
});
