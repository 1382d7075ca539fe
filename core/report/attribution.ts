// Token attribution (paper Fig. 1): for each position of a prompt, the top-k substitute tokens by the same
// gradient EPO uses (lambda 0), each evaluated in place; how far the objective falls from the prompt's own
// value to the worst and to the best substitute says how much that token matters.
import type { Engine, Objective } from '../engine.js';
import { UserError } from '../errors.js';
import { regularMask, regularVocabulary } from '../model/vocabulary.js';
import type { ArtifactStore } from '../store/index.js';
import { resolveTarget, type EpoTarget } from '../objectives/target.js';
import { loadVectorSet, type VectorSet } from '../objectives/vectors.js';
import { targetLabel } from './statistics.js';
import type { Attribution, AttributionPosition, PromptRow, ReportData } from './types.js';

/** The paper's Fig. 1: 32 substitutes per position. */
export const ATTRIBUTION_K = 32;

export interface AttributionOptions {
  /** Prompts per engine.evaluate call (default 64). */
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Why: the report's per-token view of a best prompt. Substitutes are the top-k tokens of the gradient of f
 * (lambda 0) at each position, among the regular vocabulary, other than the token already there.
 */
export async function tokenAttribution(
  engine: Engine,
  ids: number[],
  objective: Objective,
  k: number = ATTRIBUTION_K,
  options: AttributionOptions = {},
): Promise<{ f: number; positions: AttributionPosition[] }> {
  const n = ids.length;
  if (!Number.isInteger(k) || k < 1) throw new UserError('E_REPORT_OPTIONS', `attribution k: expected an integer >= 1, got ${k}`);
  if (n < 2) throw new UserError('E_REPORT_OPTIONS', `attribution: a prompt needs at least 2 tokens, got ${n}`);
  const vocab = regularVocabulary(engine);
  const allowed = regularMask(engine);
  // One more than k, so that k remain when the token already there is among them.
  const kk = Math.min(k + 1, vocab.length);
  const g = await engine.gradients([ids], [0], objective, kk, { allowed });

  // 1. The substituted prompts, position by position; the prompt itself goes first.
  const prompts: number[][] = [ids];
  const subs: number[][] = [];
  for (let p = 0; p < n; p++) {
    const top = Array.from(g.topk.subarray(p * kk, (p + 1) * kk))
      .filter((t) => t !== ids[p])
      .slice(0, k);
    subs.push(top);
    for (const t of top) prompts.push(ids.map((x, i) => (i === p ? t : x)));
  }

  // 2. Evaluate them all (in batches), then reduce per position.
  const batch = options.batchSize ?? 64;
  const f = new Float64Array(prompts.length);
  for (let s = 0; s < prompts.length; s += batch) {
    options.signal?.throwIfAborted();
    const e = await engine.evaluate(prompts.slice(s, s + batch), objective);
    f.set(e.f, s);
  }
  const f0 = f[0]!;
  let at = 1;
  const positions = subs.map((top, p): AttributionPosition => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < top.length; j++, at++) {
      lo = Math.min(lo, f[at]!);
      hi = Math.max(hi, f[at]!);
    }
    const token = ids[p]!;
    return {
      position: p,
      token,
      text: engine.tokenizer.decode([token]),
      dropFromWorst: top.length ? f0 - lo : 0,
      dropFromBest: top.length ? f0 - hi : 0,
    };
  });
  return { f: f0, positions };
}

/** A prompt the report attributes: the best fluent prompt of each layer and each neuron/logit target. */
export interface AttributionRequest {
  label: string;
  target: EpoTarget;
  ids: number[];
}

/**
 * Why: attribution costs n * k evaluations per prompt, so the report attributes a few: per layer, the EPO
 * prompt with CE < threshold of the vector where that is highest in z (else the unrestricted best); per
 * neuron/logit target, its best prompt under the perplexity cap (the paper's Fig. 1 uses Table 3's).
 */
export function attributionRequests(data: ReportData): AttributionRequest[] {
  const out: AttributionRequest[] = [];
  const thr = data.settings.ceThreshold;
  for (const L of data.settings.layers) {
    let pick: { row: PromptRow; vector: number; label: string; fluent: boolean } | undefined;
    for (const fluent of [true, false]) {
      for (const p of data.pairs) {
        if (p.layer !== L) continue;
        const row = fluent ? p.best.epoFluent : p.best.epo;
        if (!row?.ids) continue;
        const score = row.z ?? row.f;
        if (!pick || score > (pick.row.z ?? pick.row.f)) pick = { row, vector: p.vector, label: p.label, fluent };
      }
      if (pick) break;
    }
    if (pick) {
      out.push({
        label: `EPO ${pick.label}${pick.fluent ? ` (CE < ${thr})` : ''}`,
        target: { kind: 'resid', layer: L, vector: pick.vector },
        ids: pick.row.ids!,
      });
    }
  }
  for (const t of data.targets) {
    if (t.bestUnderCap?.ids) out.push({ label: `${targetLabel(t.target)} (perplexity < ${data.settings.perplexityCap})`, target: t.target, ids: t.bestUnderCap.ids });
  }
  return out;
}

/**
 * Why: what the report activity and `dreamsweep report --model` call: attributes `requests` (default:
 * attributionRequests(data)) with the engine, reading residual vectors from the store's vector set.
 */
export async function attributeBestPrompts(
  engine: Engine,
  store: ArtifactStore,
  data: ReportData,
  options: AttributionOptions & { k?: number; requests?: AttributionRequest[]; onProgress?: (p: { done: number; of: number }) => void } = {},
): Promise<Attribution[]> {
  const requests = options.requests ?? attributionRequests(data);
  const k = options.k ?? ATTRIBUTION_K;
  let vectors: VectorSet | undefined;
  const out: Attribution[] = [];
  for (const r of requests) {
    if (r.target.kind === 'resid') vectors ??= await loadVectorSet(store, data.vectorsKey);
    const objective = resolveTarget(r.target, engine.tokenizer, vectors, `${store.uri}/${data.vectorsKey}`, engine.shape.dVocab);
    const { f, positions } = await tokenAttribution(engine, r.ids, objective, k, options);
    out.push({ label: r.label, target: r.target, ids: r.ids, text: engine.tokenizer.decode(r.ids), f, k, positions });
    options.onProgress?.({ done: out.length, of: requests.length });
  }
  return out;
}
