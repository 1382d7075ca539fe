// Objective specs as users write them on the command line and in sweep files, parsed into the plain
// Objective data every engine computes:
//   resid:<layer>:random:<seed>       a seeded random unit direction in resid_pre.<layer>
//   resid:<layer>:<vectors.json>#<i>  vector i of that layer in a vectors file
//   neuron:<layer>:<index>            mlp_post.<layer>, unit <index>
//   logit:<token text>  or  logit:#<id>
import type { ModelShape, Objective, Tokenizer } from '../engine.js';
import { UserError } from '../errors.js';
import { randomUnitVector } from '../rng.js';
import { resolveToken } from './target.js';
import { readVectorFile } from './vectors.js';

const FORMS = 'resid:<layer>:random:<seed>, resid:<layer>:<vectors.json>#<i>, neuron:<layer>:<index>, logit:<token text or #id>';

export function parseObjective(spec: string, shape: ModelShape, tokenizer: Tokenizer): Objective {
  const fail = (why: string) => new UserError('E_OBJECTIVE', `objective ${JSON.stringify(spec)}: ${why}. Forms: ${FORMS}`);
  const [kind, ...rest] = spec.split(':');
  const int = (text: string | undefined, what: string, lo: number, hi: number) => {
    const v = Number(text);
    if (text === undefined || text === '' || !Number.isInteger(v)) throw fail(`${what} must be an integer, got ${JSON.stringify(text)}`);
    if (v < lo || v > hi) throw fail(`${what} ${v} is out of range [${lo}, ${hi}]`);
    return v;
  };
  switch (kind) {
    case 'resid': {
      // resid_pre.L exists for L = 0..nLayers (nLayers: the residual after the last block).
      const layer = int(rest[0], 'layer', 0, shape.nLayers);
      const source = rest.slice(1).join(':');
      if (source.startsWith('random:')) {
        const seed = int(source.slice(7), 'seed', 0, Number.MAX_SAFE_INTEGER);
        return { kind: 'resid', layer, vector: randomUnitVector(shape.dModel, seed) };
      }
      const hash = source.lastIndexOf('#');
      if (hash < 0) throw fail('a residual direction is random:<seed> or <vectors.json>#<index>');
      const file = source.slice(0, hash);
      const vectors = readVectorFile(file, shape.dModel).get(layer);
      if (!vectors) throw fail(`${file} has no vectors for layer ${layer}`);
      const i = int(source.slice(hash + 1), 'vector index', 0, vectors.length - 1);
      return { kind: 'resid', layer, vector: vectors[i]! };
    }
    case 'neuron':
      if (rest.length !== 2) throw fail('expected neuron:<layer>:<index>');
      return { kind: 'neuron', layer: int(rest[0], 'layer', 0, shape.nLayers - 1), index: int(rest[1], 'neuron index', 0, shape.dMlp - 1) };
    case 'logit':
      return { kind: 'logit', token: resolveToken(rest.join(':'), tokenizer, shape.dVocab, fail) };
    default:
      throw fail(`unknown objective kind ${JSON.stringify(kind)}`);
  }
}

/** A JSON-safe description of an objective, for artifacts' provenance. */
export function describeObjective(o: Objective): Record<string, unknown> {
  return o.kind === 'resid' ? { kind: o.kind, layer: o.layer, vector: Array.from(o.vector) } : { ...o };
}
