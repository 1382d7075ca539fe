// sae: one latent of a sparse autoencoder, its activation at the last token as the SAE's library encodes it
// (core/objectives/sae.ts reads the three formats; docs/objectives.md).
import path from 'node:path';
import { UserError, isUserError } from '../../errors.js';
import { parseTap, tapDim } from '../../model/taps.js';
import { readSae, SAE_SITES, saeIdentity, saeObjective, saeTap } from '../sae.js';
import { z } from 'zod';
import type { Problem } from '../../sweep/issues.js';
import { indexSet, int, obj, text, want } from '../../sweep/schema.js';
import { expandIndices, indexCount } from '../indices.js';
import type { SaeObjective, TapValues } from '../../engine.js';
import { tapRows } from './tap-rows.js';
import type { ObjectiveKind, SweepTargetLists, TargetOf } from './types.js';

/** The sweep file's `targets.saes`. */
const list = z
  .array(
    obj(
      {
        path: text('an SAE: a SAELens or sparsify directory, or a Gemma Scope params.npz', 'e.g. `path: ./saes/layer_1/params.npz`'),
        site: z.enum(SAE_SITES, want(`one of ${SAE_SITES.join(', ')}`, 'the hook the SAE reads; omit it when its cfg.json says')).optional(),
        layer: int(0, 'the block whose hook the SAE reads; omit it when its cfg.json says').optional(),
        latents: indexSet('the latents to dream, a list `[1, 5, 9]` or a range `0..63`'),
      },
      'a mapping { path, site?, layer?, latents }',
      'e.g. `- { path: ./params.npz, site: resid_post, layer: 20, latents: [10956] }`',
    ).superRefine((v, ctx) => {
      if ((v.site === undefined) !== (v.layer === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [v.site === undefined ? 'site' : 'layer'],
          message: want('site and layer together, or neither', 'give both, e.g. `site: resid_post, layer: 20`').error,
        });
      }
    }),
    want('a list of { path, site?, layer?, latents }', 'e.g. `saes: [{ path: ./sae-dir, latents: 0..7 }]`'),
  )
  .default([]);
type Raw = z.output<typeof list>;

/** One entry per SAE latent, in the order written; a latent named twice is a problem at its second entry. */
function expandSaes(entries: Raw, at: (p: string) => string, problems: Problem[]): NonNullable<SweepTargetLists['saes']> {
  const seen = new Map<string, number>();
  const out: NonNullable<SweepTargetLists['saes']> = [];
  entries.forEach(({ path: p, site, layer, latents }, i) => {
    const file = at(p);
    const tap = site === undefined ? undefined : `${site}.${layer}`;
    for (const latent of expandIndices(latents)) {
      const k = `${file}\0${tap ?? ''}\0${latent}`;
      const first = seen.get(k);
      if (first !== undefined) {
        problems.push({ path: ['targets', 'saes', i], expected: 'each latent once', hint: `latent ${latent} of ${p} is also in item [${first}]; remove the repeat` });
        return;
      }
      seen.set(k, i);
      out.push({ path: file, ...(tap !== undefined && { tap }), latent });
    }
  });
  return out;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The SAE's file or directory as labels show it: its folder and name. */
function saeName(p: string): string {
  return path.join(path.basename(path.dirname(p)), path.basename(p));
}

/**
 * The SAE's input rows [B, d] in float64 as the engines prepare them (core/model/objectives.ts saeValue): the tap at
 * the last token, normalised where the SAE does, minus bDec where it does.
 */
function saeInput(o: SaeObjective, taps: TapValues, B: number): Float64Array {
  const { values, d } = tapRows(taps, o.tap, B);
  const x = Float64Array.from(values);
  for (let b = 0; b < B; b++) {
    const row = x.subarray(b * d, (b + 1) * d);
    if (o.normalize === 'constant_norm_rescale') {
      // SAELens: x * sqrt(d_in) / ||x||.
      let ss = 0;
      for (const v of row) ss += v * v;
      const s = Math.sqrt(d) / Math.sqrt(ss);
      for (let i = 0; i < d; i++) row[i]! *= s;
    } else if (o.normalize === 'layer_norm') {
      // SAELens: (x - mean) / (std + 1e-5), std unbiased.
      let sum = 0;
      for (const v of row) sum += v;
      const mean = sum / d;
      let ss = 0;
      for (const v of row) ss += (v - mean) ** 2;
      const std = Math.sqrt(ss / (d - 1));
      for (let i = 0; i < d; i++) row[i] = (row[i]! - mean) / (std + 1e-5);
    }
    if (o.bDec) for (let i = 0; i < d; i++) row[i]! -= o.bDec[i]!;
  }
  return x;
}

/** Every latent's pre-activation [B, dSae]: x @ wEncAll + bEncAll (TopK selects among them). */
function allPre(x: Float64Array, a: Extract<SaeObjective['activation'], { kind: 'topk' }>, B: number): Float64Array {
  const d = x.length / B;
  const out = new Float64Array(B * a.dSae);
  for (let b = 0; b < B; b++) {
    const acc = out.subarray(b * a.dSae, (b + 1) * a.dSae);
    acc.set(a.bEncAll);
    for (let i = 0; i < d; i++) {
      const xi = x[b * d + i]!;
      if (xi === 0) continue;
      const w = a.wEncAll.subarray(i * a.dSae, (i + 1) * a.dSae);
      for (let j = 0; j < a.dSae; j++) acc[j]! += xi * w[j]!;
    }
  }
  return out;
}

/** f [B] of each SAE latent: the latents of one TopK SAE at one tap share its full encode (the costly part). */
function saeValues(objs: readonly SaeObjective[], taps: TapValues, B: number): Float64Array[] {
  const encoded = new Map<Float32Array, Map<string, Float64Array>>();
  return objs.map((o) => {
    const a = o.activation;
    const f = new Float64Array(B);
    if (a.kind === 'topk') {
      let byTap = encoded.get(a.wEncAll);
      if (!byTap) encoded.set(a.wEncAll, (byTap = new Map()));
      let all = byTap.get(o.tap);
      if (!all) byTap.set(o.tap, (all = allPre(saeInput(o, taps, B), a, B)));
      for (let b = 0; b < B; b++) {
        const row = all.subarray(b * a.dSae, (b + 1) * a.dSae);
        const pre = row[a.latent]!;
        // Selected: fewer than k latents strictly above it (ties keep it in), as the engines decide.
        let above = 0;
        for (let j = 0; j < a.dSae && above < a.k; j++) if (row[j]! > pre) above++;
        f[b] = above < a.k ? Math.max(0, pre) : 0;
      }
      return f;
    }
    const x = saeInput(o, taps, B);
    const d = o.wEnc.length;
    for (let b = 0; b < B; b++) {
      let pre = o.bEnc;
      for (let i = 0; i < d; i++) pre += x[b * d + i]! * o.wEnc[i]!;
      f[b] = a.kind === 'relu' || pre > a.threshold ? Math.max(0, pre) : 0;
    }
    return f;
  });
}

const SITE = new RegExp(`^((?:${SAE_SITES.join('|')})\\.\\d+):(.*)$`);

export const sae: ObjectiveKind<'sae'> = {
  kind: 'sae',
  forms: ['sae:<dir-or-file>#<latent>', 'sae:<site>.<layer>:<dir-or-file>#<latent>'],
  summary: "an SAE latent's activation at the last token, encoded as the SAE's library does (SAELens, Gemma Scope, sparsify)",
  parse(body, { shape, fail, int }) {
    const m = SITE.exec(body);
    const rest = m ? m[2]! : body;
    const hash = rest.lastIndexOf('#');
    if (hash < 1) throw fail('expected sae:[<site>.<layer>:]<dir-or-file>#<latent>');
    const file = rest.slice(0, hash);
    const weights = readSae(file);
    const latent = int(rest.slice(hash + 1), 'latent', 0, weights.dSae - 1);
    return saeObjective(weights, latent, saeTap(weights, m?.[1], shape));
  },
  validate(obj, cfg, bad) {
    const site = obj.tap.split('.')[0]!;
    if (!(SAE_SITES as readonly string[]).includes(site)) throw bad(`tap ${obj.tap}: an SAE reads ${SAE_SITES.join(', ')}`);
    let dim: number;
    try {
      dim = tapDim(parseTap(obj.tap, cfg), cfg);
    } catch (e) {
      if (!isUserError(e)) throw e;
      throw bad(`tap ${obj.tap} is not in this ${cfg.nLayers}-layer model`);
    }
    if (obj.wEnc.length !== dim) throw bad(`the SAE's d_in is ${obj.wEnc.length}, ${obj.tap} is ${dim} wide`);
    if (obj.bDec && obj.bDec.length !== dim) throw bad(`bDec: expected length ${dim}, got ${obj.bDec.length}`);
    if (!Number.isInteger(obj.latent) || obj.latent < 0 || obj.latent >= obj.dSae) throw bad(`latent: expected an integer in 0..${obj.dSae - 1}, got ${obj.latent}`);
    const a = obj.activation;
    if (a.kind === 'topk') {
      if (a.wEncAll.length !== dim * a.dSae || a.bEncAll.length !== a.dSae) throw bad(`topk: the encoder is not [${dim}, ${a.dSae}]`);
      if (!Number.isInteger(a.k) || a.k < 1 || a.k > a.dSae) throw bad(`topk: k must be in 1..${a.dSae}, got ${a.k}`);
    }
  },
  taps: (obj) => [parseTap(obj.tap, { nLayers: Number.MAX_SAFE_INTEGER })],
  describe(o) {
    const a = o.activation;
    return {
      kind: 'sae',
      tap: o.tap,
      latent: o.latent,
      dSae: o.dSae,
      ...(o.normalize && { normalize: o.normalize }),
      activation: a.kind === 'topk' ? { kind: 'topk', k: a.k } : a,
      bEnc: o.bEnc,
      wEnc: Array.from(o.wEnc),
      ...(o.bDec && { bDec: Array.from(o.bDec) }),
    };
  },

  sweepFile: {
    key: 'saes',
    schema: list,
    count: (raw) => (raw as Raw).reduce((n, t) => n + indexCount(t.latents), 0),
    // Left out of the spec when empty, so the sweep IDs of files without SAEs are as before.
    build: (raw, { at, problems }) => (raw.length > 0 ? expandSaes(raw as Raw, at, problems) : undefined),
  },
  method: 'sae',
  sweepTargets: (spec) =>
    (spec.targets.saes ?? []).map(({ path: p, tap, latent }) => ({
      target: { kind: 'sae' as const, path: p, ...(tap !== undefined && { tap }), latent },
      seeds: spec.targets.seeds,
      id: (seed: number) => `sae/${saeName(p)}${tap ? `@${tap}` : ''}#${latent}/s${seed}`,
    })),
  targetCount: (spec) => spec.targets.saes?.length ?? 0,
  checkSweep(spec, shape) {
    for (const t of spec.targets.saes ?? []) {
      try {
        const w = readSae(t.path);
        saeTap(w, t.tap, shape);
        if (t.latent >= w.dSae) throw new UserError('E_OBJECTIVE', `latent ${t.latent} is out of range [0, ${w.dSae - 1}]`);
      } catch (e) {
        if (!isUserError(e)) throw e;
        throw new UserError('E_SWEEP_MODEL', `${spec.source}: targets.saes ${saeName(t.path)}: ${e.message}`, { cause: e });
      }
    }
  },
  resolve(t, { shape, where }) {
    try {
      const w = readSae(t.path);
      const tap = shape ? saeTap(w, t.tap, shape) : (t.tap ?? w.tap);
      if (tap === undefined) throw new UserError('E_OBJECTIVE', `SAE ${t.path}: its files do not say which hook it reads; give site and layer`);
      return saeObjective(w, t.latent, tap);
    } catch (e) {
      if (!isUserError(e)) throw e;
      throw new UserError('E_SWEEP_TARGET', `${where}: targets.saes: ${e.message}`, { cause: e });
    }
  },
  // By the SAE's contents, not its path (saeIdentity): a unit's key names what it computes with.
  keyJson: (t) => `{"kind":"sae","latent":${JSON.stringify(t.latent)},"sae":${JSON.stringify(saeIdentity(t.path))}${t.tap === undefined ? '' : `,"tap":${JSON.stringify(t.tap)}`}}`,
  usesVectors: false,
  label: (t: TargetOf<'sae'>) => `sae ${saeName(t.path)}${t.tap ? ` at ${t.tap}` : ''} #${t.latent}`,
  compare: (a, b) => cmp(a.path, b.path) || cmp(a.tap ?? '', b.tap ?? '') || a.latent - b.latent,
  // The tap only where the spec names site and layer, as a sweep file's entry would.
  targetOfSpec(body, o) {
    const m = SITE.exec(body);
    const rest = m ? m[2]! : body;
    return { kind: 'sae', path: path.resolve(rest.slice(0, rest.lastIndexOf('#'))), ...(m && { tap: m[1]! }), latent: o.latent };
  },
  lastToken: { taps: (o) => [o.tap], values: saeValues },
};
