// Tap names, the same for every family (TransformerLens meanings, read at the last token): `resid_pre.L` the input
// of block L (L = nLayers: the residual before the final norm), `resid_post.L` block L's output, `mlp_post.L` what
// enters block L's MLP output projection, `mlp_out.L` that MLP's output, and `logits`. A name is parsed once, here.
import { UserError } from '../errors.js';
import type { ModelConfig } from './config.js';

export type TapKind = 'resid_pre' | 'resid_post' | 'mlp_post' | 'mlp_out' | 'logits';
export interface Tap {
  kind: TapKind;
  /** Block index; absent for logits. */
  layer?: number;
}

const LAYERED: readonly TapKind[] = ['resid_pre', 'resid_post', 'mlp_post', 'mlp_out'];

/** A tap's name from its parts: actName('resid_pre', 3) === 'resid_pre.3'. */
export function actName(kind: TapKind, layer?: number): string {
  return kind === 'logits' ? 'logits' : `${kind}.${layer}`;
}

/** The highest layer a kind has: resid_pre goes one past the last block. */
function lastLayer(kind: TapKind, nLayers: number): number {
  return kind === 'resid_pre' ? nLayers : nLayers - 1;
}

/** Every tap this model has, by kind, each in layer order. */
export function tapNames(cfg: Pick<ModelConfig, 'nLayers'>): string[] {
  const names: string[] = [];
  for (const kind of LAYERED) for (let l = 0; l <= lastLayer(kind, cfg.nLayers); l++) names.push(actName(kind, l));
  names.push('logits');
  return names;
}

/** Parses a tap name, or throws a UserError listing the valid names. */
export function parseTap(name: string, cfg: Pick<ModelConfig, 'nLayers'>): Tap {
  if (name === 'logits') return { kind: 'logits' };
  const m = /^(resid_pre|resid_post|mlp_post|mlp_out)\.(0|[1-9]\d*)$/.exec(name);
  if (m) {
    const kind = m[1] as TapKind;
    const layer = Number(m[2]);
    if (layer <= lastLayer(kind, cfg.nLayers)) return { kind, layer };
  }
  const ranges = LAYERED.map((k) => `${k}.0 .. ${k}.${lastLayer(k, cfg.nLayers)}`).join(', ');
  throw new UserError('E_TAP_UNKNOWN', `tap "${name}" does not exist in this ${cfg.nLayers}-layer model; valid taps: ${ranges}, logits`);
}

/** Width of a tap's values at one token. */
export function tapDim(tap: Tap, cfg: Pick<ModelConfig, 'dModel' | 'dMlp' | 'dVocab'>): number {
  return tap.kind === 'mlp_post' ? cfg.dMlp : tap.kind === 'logits' ? cfg.dVocab : cfg.dModel;
}

/** The blocks a forward pass must run to produce a tap (resid_pre.L needs blocks 0..L-1; the others 0..L). */
export function blocksFor(tap: Tap, nLayers: number): number {
  if (tap.kind === 'logits') return nLayers;
  return tap.kind === 'resid_pre' ? tap.layer! : tap.layer! + 1;
}
