// Sparse autoencoders as researchers have them on disk, read into the plain data of the `sae` objective
// (core/engine.ts's SaeObjective). Three formats (docs/objectives.md says which field is used how):
//   SAELens   a directory with cfg.json + sae_weights.safetensors (standard/ReLU, jumprelu, topk)
//   Gemma Scope  params.npz (W_enc, W_dec, b_enc, b_dec, threshold: JumpReLU, no b_dec subtraction)
//   sparsify  a directory with cfg.json + sae.safetensors (EleutherAI's TopK SAEs)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import type { ModelShape, SaeObjective } from '../engine.js';
import { UserError } from '../errors.js';
import { decodeNpy } from '../npy.js';
import { hashFiles } from '../model/identity.js';
import { readSafetensors, type FloatTensor } from '../model/safetensors.js';
import { parseTap, tapDim } from '../model/taps.js';

export type SaeFormat = 'saelens' | 'gemma-scope' | 'sparsify';

/** The sites an SAE may read (TransformerLens hook names: hook_resid_pre, hook_resid_post, hook_mlp_out). */
export const SAE_SITES = ['resid_pre', 'resid_post', 'mlp_out'] as const;

/** One SAE's encoder, whatever its format. */
export interface SaeWeights {
  format: SaeFormat;
  /** The file or directory as given. */
  source: string;
  dIn: number;
  dSae: number;
  /** The tap the SAE's config names (`resid_post.12`), when it names one. */
  tap?: string;
  /** [d_in, d_sae] row-major: pre = x @ wEnc + bEnc. */
  wEnc: Float32Array;
  bEnc: Float32Array;
  /** Subtracted from the input, where the format does. */
  bDec?: Float32Array;
  normalize?: 'constant_norm_rescale' | 'layer_norm';
  activation: { kind: 'relu' } | { kind: 'jumprelu'; threshold: Float32Array } | { kind: 'topk'; k: number };
}

const bad = (source: string, why: string) => new UserError('E_SAE_FILE', `SAE ${source}: ${why}`);

/** `blocks.L.hook_resid_pre|hook_resid_post|hook_mlp_out` (TransformerLens, SAELens) -> `resid_pre.L`. */
export function tapOfHookName(hook: string): string | undefined {
  const m = /^blocks\.(\d+)\.hook_(resid_pre|resid_post|mlp_out)$/.exec(hook);
  return m ? `${m[2]}.${m[1]}` : undefined;
}

/** A sparsify hookpoint (`layers.5`, `layers.5.mlp`, `h.5`, `gpt_neox.layers.5`) -> `resid_post.5` / `mlp_out.5`. */
export function tapOfHookpoint(name: string): string | undefined {
  const m = /(?:^|\.)(?:layers|h)\.(\d+)(\.mlp)?$/.exec(name);
  return m ? `${m[2] ? 'mlp_out' : 'resid_post'}.${m[1]}` : undefined;
}

function tensor(tensors: Map<string, FloatTensor>, name: string, shape: number[], source: string): Float32Array {
  const t = tensors.get(name);
  if (!t) throw bad(source, `tensor ${name} is missing (has ${[...tensors.keys()].join(', ')})`);
  if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i])) throw bad(source, `tensor ${name} has shape [${t.shape}], expected [${shape}]`);
  return t.data;
}

function readJson(file: string, source: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw bad(source, `${path.basename(file)} is not readable JSON (${(e as Error).message})`);
  }
}

function readSaeLens(dir: string, source: string): SaeWeights {
  const cfg = readJson(path.join(dir, 'cfg.json'), source);
  // hook_name: top level in older releases, under `metadata` or (SAELens 6's to_dict) `meta` in newer ones.
  const meta = (cfg['metadata'] ?? cfg['meta'] ?? {}) as Record<string, unknown>;
  const dIn = cfg['d_in'];
  const dSae = cfg['d_sae'];
  if (!Number.isSafeInteger(dIn) || !Number.isSafeInteger(dSae)) throw bad(source, 'cfg.json lacks integer d_in and d_sae');
  const [d, s] = [dIn as number, dSae as number];
  const fnStr = cfg['activation_fn_str'];
  const arch = String(cfg['architecture'] ?? (fnStr === 'topk' ? 'topk' : 'standard'));
  const hook = (cfg['hook_name'] ?? meta['hook_name']) as string | undefined;
  const tap = hook === undefined ? undefined : tapOfHookName(hook);
  if (hook !== undefined && tap === undefined) throw bad(source, `hook_name ${JSON.stringify(hook)} is not blocks.L.hook_resid_pre, hook_resid_post or hook_mlp_out`);
  const t = readSafetensors(path.join(dir, 'sae_weights.safetensors'));
  const wEnc = tensor(t, 'W_enc', [d, s], source);
  const bEnc = tensor(t, 'b_enc', [s], source);
  const applyBDec = (cfg['apply_b_dec_to_input'] ?? true) !== false;
  const bDec = applyBDec ? tensor(t, 'b_dec', [d], source) : undefined;
  const norm = String(cfg['normalize_activations'] ?? 'none');
  const out: SaeWeights = { format: 'saelens', source, dIn: d, dSae: s, ...(tap && { tap }), wEnc, bEnc, ...(bDec && { bDec }), activation: { kind: 'relu' } };
  // As SAELens' encode applies them: expected_average_only_in does nothing there (its factor is folded into
  // the weights when SAELens loads a pretrained SAE, or applied by the training pipeline's activation store).
  if (norm === 'constant_norm_rescale' || norm === 'layer_norm') out.normalize = norm;
  else if (norm !== 'none' && norm !== 'expected_average_only_in')
    throw bad(source, `normalize_activations ${JSON.stringify(norm)} is not supported (none, constant_norm_rescale, layer_norm, expected_average_only_in are)`);
  if (arch === 'standard' || arch === 'relu') return out;
  if (arch === 'jumprelu') return { ...out, activation: { kind: 'jumprelu', threshold: tensor(t, 'threshold', [s], source) } };
  if (arch === 'topk') {
    if (cfg['rescale_acts_by_decoder_norm'] === true) throw bad(source, 'rescale_acts_by_decoder_norm: true is not supported; fold the decoder norms into W_enc first');
    const kwargs = (cfg['activation_fn_kwargs'] ?? {}) as Record<string, unknown>;
    const k = cfg['k'] ?? kwargs['k'];
    if (!Number.isSafeInteger(k) || (k as number) < 1) throw bad(source, 'a topk SAE needs an integer k in cfg.json (k or activation_fn_kwargs.k)');
    return { ...out, activation: { kind: 'topk', k: k as number } };
  }
  throw bad(source, `architecture ${JSON.stringify(arch)} is not supported (standard, jumprelu and topk are)`);
}

function readSparsify(dir: string, source: string): SaeWeights {
  const cfg = readJson(path.join(dir, 'cfg.json'), source);
  const t = readSafetensors(path.join(dir, 'sae.safetensors'));
  const enc = t.get('encoder.weight');
  if (!enc || enc.shape.length !== 2) throw bad(source, 'sae.safetensors lacks a 2-d encoder.weight');
  const [s, d] = enc.shape as [number, number];
  if (cfg['d_in'] !== undefined && cfg['d_in'] !== d) throw bad(source, `cfg.json d_in ${String(cfg['d_in'])} disagrees with encoder.weight [${enc.shape}]`);
  const k = cfg['k'];
  if (!Number.isSafeInteger(k) || (k as number) < 1) throw bad(source, 'cfg.json lacks an integer k');
  if (cfg['activation'] !== undefined && cfg['activation'] !== 'topk') throw bad(source, `activation ${JSON.stringify(cfg['activation'])} is not supported (topk is)`);
  if (cfg['transcode'] === true) throw bad(source, 'a transcoder (transcode: true) is not supported; an SAE reads and rebuilds one tap');
  // encoder.weight is [d_sae, d_in] (torch Linear): transposed to [d_in, d_sae].
  const wEnc = new Float32Array(d * s);
  for (let j = 0; j < s; j++) for (let i = 0; i < d; i++) wEnc[i * s + j] = enc.data[j * d + i]!;
  const tap = tapOfHookpoint(path.basename(path.resolve(dir)));
  return {
    format: 'sparsify',
    source,
    dIn: d,
    dSae: s,
    ...(tap && { tap }),
    wEnc,
    bEnc: tensor(t, 'encoder.bias', [s], source),
    bDec: tensor(t, 'b_dec', [d], source),
    activation: { kind: 'topk', k: k as number },
  };
}

function readGemmaScope(file: string, source: string): SaeWeights {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(readFileSync(file));
  } catch (e) {
    throw bad(source, `not a readable .npz (zip) file (${(e as Error).message})`);
  }
  const arr = (name: string) => {
    const bytes = entries[`${name}.npy`];
    if (!bytes) throw bad(source, `${name}.npy is missing from the .npz (has ${Object.keys(entries).join(', ')})`);
    return decodeNpy(bytes, `${source}:${name}.npy`);
  };
  const w = arr('W_enc');
  if (w.shape.length !== 2) throw bad(source, `W_enc has shape [${w.shape}], expected [d_in, d_sae]`);
  const [d, s] = w.shape as [number, number];
  const vec = (name: string, n: number) => {
    const a = arr(name);
    if (a.shape.length !== 1 || a.shape[0] !== n) throw bad(source, `${name} has shape [${a.shape}], expected [${n}]`);
    return a.data;
  };
  return { format: 'gemma-scope', source, dIn: d, dSae: s, wEnc: w.data, bEnc: vec('b_enc', s), activation: { kind: 'jumprelu', threshold: vec('threshold', s) } };
}

/**
 * Why: sparsify saves a run as one directory per hookpoint (`run/layers.5/sae.safetensors`): a run directory
 * holding exactly one hookpoint stands for it. Undefined where `dir` is not such a run.
 */
function sparsifyHookpoint(dir: string): string | undefined {
  if (existsSync(path.join(dir, 'sae.safetensors')) || existsSync(path.join(dir, 'sae_weights.safetensors'))) return undefined;
  const subs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'sae.safetensors')));
  if (subs.length > 1) throw bad(dir, `a sparsify run with ${subs.length} hookpoints (${subs.map((e) => e.name).join(', ')}): give one hookpoint's directory`);
  return subs.length === 1 ? path.join(dir, subs[0]!.name) : undefined;
}

/**
 * The files that make an SAE (cfg.json, *.safetensors, *.npz; a directory's, its subdirectories' too, by relative
 * path, sorted): what saeIdentity hashes, and a superset of what readSae reads.
 */
function saeFiles(source: string, isDirectory: boolean): Array<[string, string]> {
  const files: Array<[string, string]> = [];
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs, `${rel}${e.name}/`);
      else if (e.name === 'cfg.json' || e.name.endsWith('.safetensors') || e.name.endsWith('.npz')) files.push([`${rel}${e.name}`, abs]);
    }
  };
  if (isDirectory) walk(source, '');
  else files.push([path.basename(source), source]);
  return files;
}

/**
 * Why per file: overwriting a file inside an SAE directory leaves the directory's own mtime as it was, so the caches
 * are keyed on each file's name, size and mtime.
 */
function saeStamp(files: Array<[string, string]>): string {
  return files
    .map(([rel, abs]) => {
      const st = statSync(abs);
      return `${rel}\0${st.size}\0${st.mtimeMs}`;
    })
    .join('\n');
}

const cache = new Map<string, { stamp: string; sae: SaeWeights }>();

/** Reads an SAE: a .npz file (Gemma Scope), or a directory with cfg.json and sae_weights.safetensors (SAELens) or sae.safetensors (sparsify). */
export function readSae(source: string): SaeWeights {
  if (!existsSync(source)) throw bad(source, 'no such file or directory');
  const st = statSync(source);
  const stamp = saeStamp(saeFiles(source, st.isDirectory()));
  const hit = cache.get(source);
  if (hit && hit.stamp === stamp) return hit.sae;
  let sae: SaeWeights;
  const hookpoint = st.isDirectory() ? sparsifyHookpoint(source) : undefined;
  if (hookpoint) sae = readSparsify(hookpoint, source);
  else if (st.isFile() && source.toLowerCase().endsWith('.npz')) sae = readGemmaScope(source, source);
  else if (st.isDirectory() && existsSync(path.join(source, 'sae_weights.safetensors'))) sae = readSaeLens(source, source);
  else if (st.isDirectory() && existsSync(path.join(source, 'sae.safetensors'))) sae = readSparsify(source, source);
  else if (st.isDirectory() && existsSync(path.join(source, 'params.npz'))) sae = readGemmaScope(path.join(source, 'params.npz'), source);
  else throw bad(source, 'expected a Gemma Scope params.npz, a SAELens directory (cfg.json, sae_weights.safetensors) or a sparsify directory (cfg.json, sae.safetensors)');
  if (cache.size >= 4) cache.delete(cache.keys().next().value!);
  cache.set(source, { stamp, sae });
  return sae;
}

const identities = new Map<string, { stamp: string; id: string }>();

/**
 * An SAE's identity for unit keys: the SHA-256 of the files that make it (saeFiles), so a unit is keyed by what it computes with, not by where
 * the file lies: the same SAE at another path reuses finished units, a replaced one runs again.
 */
export function saeIdentity(source: string): string {
  if (!existsSync(source)) throw bad(source, 'no such file or directory');
  const files = saeFiles(source, statSync(source).isDirectory());
  const stamp = saeStamp(files);
  const hit = identities.get(source);
  if (hit && hit.stamp === stamp) return hit.id;
  const id = hashFiles(files);
  identities.set(source, { stamp, id });
  return id;
}

/**
 * The tap an SAE reads on this model: `given` (from the spec) or the SAE's config, which must agree; checked to
 * exist in the model and to be as wide as the SAE's d_in. One E_OBJECTIVE line when it does not fit.
 */
export function saeTap(sae: SaeWeights, given: string | undefined, shape: ModelShape): string {
  const fail = (why: string) => new UserError('E_OBJECTIVE', `SAE ${sae.source} does not fit this model: ${why}`);
  if (given !== undefined && sae.tap !== undefined && given !== sae.tap) throw fail(`the spec names ${given}, the SAE's config ${sae.tap}`);
  const tap = given ?? sae.tap;
  if (tap === undefined) throw fail(`its files do not say which hook it reads: give it as sae:<site>.<layer>:<path>#<latent>, site one of ${SAE_SITES.join(', ')}`);
  const m = /^([a-z_]+)\.(\d+)$/.exec(tap);
  if (!m || !(SAE_SITES as readonly string[]).includes(m[1]!)) throw fail(`site ${JSON.stringify(tap)} is not one of ${SAE_SITES.map((s) => `${s}.<layer>`).join(', ')}`);
  let dim: number;
  try {
    dim = tapDim(parseTap(tap, shape), shape);
  } catch {
    const last = m[1] === 'resid_pre' ? shape.nLayers : shape.nLayers - 1;
    throw fail(`layer ${m[2]} is out of range for ${m[1]} (0..${last}; the model has ${shape.nLayers} layers)`);
  }
  if (dim !== sae.dIn) throw fail(`its d_in is ${sae.dIn}, ${tap} is ${dim} wide`);
  return tap;
}

/** The objective of one latent of `sae` read at `tap` (already checked with saeTap). */
export function saeObjective(sae: SaeWeights, latent: number, tap: string): SaeObjective {
  if (!Number.isSafeInteger(latent) || latent < 0 || latent >= sae.dSae) {
    throw new UserError('E_OBJECTIVE', `SAE ${sae.source}: latent ${latent} is out of range [0, ${sae.dSae - 1}]`);
  }
  const wEnc = new Float32Array(sae.dIn);
  for (let i = 0; i < sae.dIn; i++) wEnc[i] = sae.wEnc[i * sae.dSae + latent]!;
  const a = sae.activation;
  return {
    kind: 'sae',
    tap,
    ...(sae.normalize && { normalize: sae.normalize }),
    ...(sae.bDec && { bDec: sae.bDec }),
    wEnc,
    bEnc: sae.bEnc[latent]!,
    activation:
      a.kind === 'relu'
        ? { kind: 'relu' }
        : a.kind === 'jumprelu'
          ? { kind: 'jumprelu', threshold: a.threshold[latent]! }
          : { kind: 'topk', k: a.k, wEncAll: sae.wEnc, bEncAll: sae.bEnc, dSae: sae.dSae, latent },
    latent,
    dSae: sae.dSae,
  };
}
