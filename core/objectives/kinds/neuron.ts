// neuron: the activation entering block `layer`'s MLP output projection (mlp_post), one unit, last token.
import { z } from 'zod';
import type { Problem } from '../../sweep/issues.js';
import { UserError } from '../../errors.js';
import { indexSet, int, obj, want } from '../../sweep/schema.js';
import { expandIndices, formatIndices, indexCount } from '../indices.js';
import { tapRows } from './tap-rows.js';
import type { ObjectiveKind, SweepTargetLists } from './types.js';

/** The sweep file's `targets.neurons`. */
const list = z
  .array(
    obj(
      { layer: int(0, 'the MLP block'), index: indexSet('the neuron in that MLP, a list `[1, 5, 9]` or a range `0..63`') },
      'a mapping { layer, index }',
      'e.g. `- { layer: 8, index: 120 }` or `- { layer: 8, index: 0..63 }`',
    ),
    want('a list of { layer, index }', 'e.g. `neurons: [{ layer: 8, index: 120 }]`'),
  )
  .default([]);
type Raw = z.output<typeof list>;

/** One {layer, index} per neuron target, in the order written; a neuron named twice is a problem at its second entry. */
function expandNeurons(entries: Raw, problems: Problem[]): SweepTargetLists['neurons'] {
  const seen = new Map<string, number>();
  const out: SweepTargetLists['neurons'] = [];
  entries.forEach(({ layer, index }, i) => {
    for (const n of expandIndices(index)) {
      const k = `${layer}.${n}`;
      const first = seen.get(k);
      if (first === undefined) {
        seen.set(k, i);
        out.push({ layer, index: n });
      } else {
        problems.push({
          path: ['targets', 'neurons', i],
          expected: 'each neuron once',
          hint: `L${layer}.N${n} (in index ${formatIndices(index)}) is also in item [${first}]; remove the repeat`,
        });
        return;
      }
    }
  });
  return out;
}

export const neuron: ObjectiveKind<'neuron'> = {
  kind: 'neuron',
  forms: ['neuron:<layer>:<index>'],
  summary: 'mlp_post.<layer> unit <index> at the last token',
  parse(body, { shape, fail, int }) {
    const rest = body.split(':');
    if (rest.length !== 2) throw fail('expected neuron:<layer>:<index>');
    return { kind: 'neuron', layer: int(rest[0], 'layer', 0, shape.nLayers - 1), index: int(rest[1], 'neuron index', 0, shape.dMlp - 1) };
  },
  validate(obj, cfg, bad) {
    if (!Number.isInteger(obj.layer) || obj.layer < 0 || obj.layer >= cfg.nLayers) throw bad(`layer: expected an integer in 0..${cfg.nLayers - 1}, got ${obj.layer}`);
    if (!Number.isInteger(obj.index) || obj.index < 0 || obj.index >= cfg.dMlp) throw bad(`index: expected an integer in 0..${cfg.dMlp - 1}, got ${obj.index}`);
  },
  taps: (obj) => [{ kind: 'mlp_post', layer: obj.layer }],
  describe: (o) => ({ ...o }),

  sweepFile: {
    key: 'neurons',
    schema: list,
    count: (raw) => (raw as Raw).reduce((n, t) => n + indexCount(t.index), 0),
    build: (raw, { problems }) => expandNeurons(raw as Raw, problems),
  },
  method: 'neuron',
  sweepTargets: (spec) =>
    spec.targets.neurons.map(({ layer, index }) => ({
      target: { kind: 'neuron' as const, layer, index },
      seeds: spec.targets.seeds,
      id: (seed: number) => `neuron/L${layer}.N${index}/s${seed}`,
      layer,
    })),
  targetCount: (spec) => spec.targets.neurons.length,
  checkSweep(spec, shape) {
    for (const { layer, index } of spec.targets.neurons) {
      if (layer >= shape.nLayers || index >= shape.dMlp) {
        throw new UserError('E_SWEEP_MODEL', `${spec.source}: targets.neurons L${layer}.N${index} is outside the model (${shape.nLayers} layers, ${shape.dMlp} neurons each)`);
      }
    }
  },
  resolve: (t) => ({ kind: 'neuron', layer: t.layer, index: t.index }),
  keyJson: (t) => `{"index":${JSON.stringify(t.index)},"kind":"neuron","layer":${JSON.stringify(t.layer)}}`,
  usesVectors: false,
  label: (t) => `neuron L${t.layer}.N${t.index}`,
  compare: (a, b) => a.layer - b.layer || a.index - b.index,
  targetOfSpec: (_body, o) => ({ kind: 'neuron', layer: o.layer, index: o.index }),
  lastToken: {
    taps: (o) => [`mlp_post.${o.layer}`],
    values: (objs, taps, B) =>
      objs.map((o) => {
        const { values, d } = tapRows(taps, `mlp_post.${o.layer}`, B);
        return Float64Array.from({ length: B }, (_, b) => values[b * d + o.index]!);
      }),
  },
};
