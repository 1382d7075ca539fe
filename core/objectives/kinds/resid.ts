// resid: alignment of the standardised residual stream entering block `layer` (last token) with a unit vector.
import path from 'node:path';
import { canonicalJson } from '../../canonical-json.js';
import { UserError } from '../../errors.js';
import { randomUnitVector } from '../../rng.js';
import type { SweepSpec } from '../../sweep/spec.js';
import { indexAt } from '../indices.js';
import { isMatrixFile } from '../matrix-file.js';
import { readVectorFile, readVectorSource } from '../vectors.js';
import type { ObjectiveKind } from './types.js';

/**
 * A residual direction named as the sweep file chose it: `L3 v0` (random), `L3 vector 2 of vectors.json`,
 * `L3 row 1234 of W_dec in blocks.3.hook_resid_pre/sae_weights.safetensors` (the file's folder and name).
 */
export function vectorLabel(vectors: SweepSpec['study']['vectors'] | undefined, layer: number, vector: number): string {
  if (!vectors || !('file' in vectors)) return `L${layer} v${vector}`;
  const file = path.join(path.basename(path.dirname(vectors.file)), path.basename(vectors.file));
  if (!isMatrixFile(vectors.file)) return `L${layer} vector ${vector} of ${file}`;
  const row = vectors.rows === undefined ? vector : indexAt(vectors.rows, vector);
  return `L${layer} row ${row} of ${vectors.file.toLowerCase().endsWith('.npy') ? file : `${vectors.tensor ?? 'W_dec'} in ${file}`}`;
}

export const resid: ObjectiveKind<'resid'> = {
  kind: 'resid',
  forms: ['resid:<layer>:random:<seed>', 'resid:<layer>:<vectors.json>#<i>', 'resid:<layer>:<file.safetensors>#[<tensor>:]<row>', 'resid:<layer>:<file.npy>#<row>'],
  summary: 'alignment of the standardised resid_pre.<layer> (last token) with a unit direction',
  parse(body, { shape, fail, int }) {
    const rest = body.split(':');
    // resid_pre.L exists for L = 0..nLayers (nLayers: the residual after the last block).
    const layer = int(rest[0], 'layer', 0, shape.nLayers);
    const source = rest.slice(1).join(':');
    if (source.startsWith('random:')) {
      const seed = int(source.slice(7), 'seed', 0, Number.MAX_SAFE_INTEGER);
      return { kind: 'resid', layer, vector: randomUnitVector(shape.dModel, seed) };
    }
    const hash = source.lastIndexOf('#');
    if (hash < 0) throw fail('a residual direction is random:<seed> or <vectors.json>#<index>, or <file.safetensors|.npy>#<row>');
    const file = source.slice(0, hash);
    if (isMatrixFile(file)) {
      const pick = source.slice(hash + 1);
      const colon = pick.lastIndexOf(':');
      const tensor = colon < 0 ? undefined : pick.slice(0, colon);
      const row = int(pick.slice(colon + 1), 'row', 0, Number.MAX_SAFE_INTEGER);
      const vector = readVectorSource({ file, ...(tensor && { tensor }), rows: row, layer }, shape.dModel, [layer]).get(layer)![0]!;
      return { kind: 'resid', layer, vector };
    }
    const vectors = readVectorFile(file, shape.dModel).get(layer);
    if (!vectors) throw fail(`${file} has no vectors for layer ${layer}`);
    const i = int(source.slice(hash + 1), 'vector index', 0, vectors.length - 1);
    return { kind: 'resid', layer, vector: vectors[i]! };
  },
  validate(obj, cfg, bad) {
    if (!Number.isInteger(obj.layer) || obj.layer < 0 || obj.layer > cfg.nLayers) throw bad(`layer: expected an integer in 0..${cfg.nLayers}, got ${obj.layer}`);
    if (obj.vector.length !== cfg.dModel) throw bad(`vector: expected length ${cfg.dModel} (d_model), got ${obj.vector.length}`);
  },
  taps: (obj) => [{ kind: 'resid_pre', layer: obj.layer }],
  describe: (o) => ({ kind: o.kind, layer: o.layer, vector: Array.from(o.vector) }),

  method: 'epo',
  sweepTargets(spec, vectorCounts) {
    const epo = spec.methods.epo!;
    const seeds = epo.seeds ?? Array.from({ length: epo.runsPerVector }, (_, i) => i);
    // A sweep of targets alone has no layers, and so no residual units.
    return (spec.study.layers ?? []).flatMap((layer) =>
      Array.from({ length: vectorCounts.get(layer) ?? 0 }, (_, vector) => ({
        target: { kind: 'resid' as const, layer, vector },
        seeds,
        id: (seed: number) => `epo/L${layer}/v${vector}/s${seed}`,
        layer,
      })),
    );
  },
  // The residual study is the sweep's layers and vectors, not a target list.
  targetCount: () => 0,
  resolve(target, { vectors, where }) {
    const v = vectors?.get(target.layer)?.[target.vector];
    if (!v) throw new UserError('E_SWEEP_TARGET', `${where}: the vector set has no vector ${target.vector} for layer ${target.layer}; launch the sweep again to re-plan`);
    return { kind: 'resid', layer: target.layer, vector: v };
  },
  keyJson: (t) => `{"kind":"resid","layer":${JSON.stringify(t.layer)},"vector":${JSON.stringify(t.vector)}}`,
  usesVectors: true,
  label: (t, vectors) => `resid ${vectorLabel(vectors, t.layer, t.vector)}`,
  compare: (a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : canonicalJson(a) > canonicalJson(b) ? 1 : 0),
};
