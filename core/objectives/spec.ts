// Objective specs as users write them on the command line, parsed into the plain Objective data every engine
// computes: `<kind>:<body>`, each kind's forms in its record (core/objectives/kinds/, docs/objectives.md):
//   resid:<layer>:random:<seed>       a seeded random unit direction in resid_pre.<layer>
//   resid:<layer>:<vectors.json>#<i>  vector i of that layer in a vectors file
//   resid:<layer>:<file.safetensors>#[<tensor>:]<row>  row <row> of a matrix (default tensor W_dec), or of a
//   resid:<layer>:<file.npy>#<row>     .npy array; a cfg.json beside the file must agree on the layer
//   neuron:<layer>:<index>            mlp_post.<layer>, unit <index>
//   logit:<token text>  or  logit:#<id>
//   sae:[<site>.<layer>:]<dir-or-file>#<latent>  an SAE latent (SAELens, Gemma Scope params.npz, sparsify)
import type { ModelShape, Objective, Tokenizer } from '../engine.js';
import { UserError } from '../errors.js';
import { describeObjectiveOf, OBJECTIVE_FORMS, parseWith } from './kinds/index.js';

const FORMS = OBJECTIVE_FORMS.join(', ');

export function parseObjective(spec: string, shape: ModelShape, tokenizer: Tokenizer): Objective {
  const fail = (why: string) => new UserError('E_OBJECTIVE', `objective ${JSON.stringify(spec)}: ${why}. Forms: ${FORMS}`);
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const body = colon < 0 ? '' : spec.slice(colon + 1);
  const int = (text: string | undefined, what: string, lo: number, hi: number) => {
    const v = Number(text);
    if (text === undefined || text === '' || !Number.isInteger(v)) throw fail(`${what} must be an integer, got ${JSON.stringify(text)}`);
    if (v < lo || v > hi) throw fail(`${what} ${v} is out of range [${lo}, ${hi}]`);
    return v;
  };
  const obj = parseWith(kind, body, { shape, tokenizer, fail, int });
  if (!obj) throw fail(`unknown objective kind ${JSON.stringify(kind)}`);
  return obj;
}

/** A JSON-safe description of an objective, for artifacts' provenance. */
export function describeObjective(o: Objective): Record<string, unknown> {
  return describeObjectiveOf(o);
}
