// resolveTarget: the one conversion of a sweep's EPO target into an engine objective.
import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../../core/objectives/target.js';
import { fakeEngine } from '../../helpers/fake-engine.js';

const { tokenizer } = fakeEngine({ vocab: 16, seqLen: 4, words: { 5: 'dog' } });
const vectors = new Map([[1, [Float32Array.of(1, 0), Float32Array.of(0, 1)]]]);

describe('resolveTarget', () => {
  it('resolves residual vectors, neurons, tokens by text and by #<id>', () => {
    expect(resolveTarget({ kind: 'resid', layer: 1, vector: 1 }, tokenizer, vectors, 'w')).toEqual({ kind: 'resid', layer: 1, vector: Float32Array.of(0, 1) });
    expect(resolveTarget({ kind: 'neuron', layer: 0, index: 3 }, tokenizer, undefined, 'w')).toEqual({ kind: 'neuron', layer: 0, index: 3 });
    expect(resolveTarget({ kind: 'logit', token: 'dog' }, tokenizer, undefined, 'w')).toEqual({ kind: 'logit', token: 5 });
    expect(resolveTarget({ kind: 'logit', token: '#7' }, tokenizer, undefined, 'w')).toEqual({ kind: 'logit', token: 7 });
  });

  it('says what is wrong with a target, and where', () => {
    expect(() => resolveTarget({ kind: 'logit', token: '#16' }, tokenizer, undefined, 'sweep.yaml')).toThrow(/sweep.yaml: targets.tokens token id 16 is out of range \[0, 15\]/);
    expect(() => resolveTarget({ kind: 'logit', token: 'dog dog' }, tokenizer, undefined, 'sweep.yaml')).toThrow(/is 2 tokens/);
    expect(() => resolveTarget({ kind: 'resid', layer: 1, vector: 2 }, tokenizer, vectors, 'store/v.json')).toThrow(/no vector 2 for layer 1/);
  });
});
