// The page's HTML pieces shared by render.ts and the per-feature sections (feature-page.ts): number
// formats, prompt cells and the token attribution block (paper Fig. 1).
import { esc } from './links.js';
import type { Attribution, FrontierRow, PromptRow } from './types.js';

export function attributionBlock(a: Attribution): string {
  const maxWorst = Math.max(0, ...a.positions.map((p) => p.dropFromWorst));
  const scale = Math.max(a.f > 0 ? a.f : 0, maxWorst) || 1;
  const tokens = a.positions
    .map((p) => {
      const heat = clamp01(p.dropFromWorst / scale);
      const bar = Math.round(clamp01(p.dropFromBest / scale) * 40);
      const fg = heat > 0.55 ? '#fff' : '#111';
      return `<span class="tok" title="position ${p.position}, token ${p.token}: drop from worst ${f3(p.dropFromWorst)}, from best ${f3(p.dropFromBest)}"><span class="bar" style="height:${bar}px"></span><span class="t" style="background:rgba(192,57,43,${heat.toFixed(3)});color:${fg}">${esc(visible(p.text))}</span></span>`;
    })
    .join('');
  return `<div class="attr"><h3>${esc(a.label)} <span class="n">f = ${f3(a.f)}</span></h3><div class="toks">${tokens}</div></div>`;
}

export function promptCells(r: PromptRow, z: boolean): string {
  return `${z ? `<td class="num">${f2(r.z)}</td>` : ''}<td class="num">${f3(r.f)}</td><td class="num">${f2(r.ce)}</td><td class="num">${ppl(r.perplexity)}</td><td>${promptText(r)}</td>`;
}

export function frontierCells(r: FrontierRow, z: boolean): string {
  return `<td>${r.seed ?? ''}</td><td class="num">${r.lambda === 0 ? '0' : r.lambda.toPrecision(3)}</td>${promptCells(r, z)}`;
}

export function promptText(r: PromptRow): string {
  if (r.text !== null) return `<span class="prompt">${esc(r.text)}</span>`;
  return r.ids ? `<span class="ids">[${r.ids.join(' ')}]</span>` : '<span class="empty">—</span>';
}

export const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
export const visible = (t: string) => t.replace(/\n/g, '↵').replace(/\t/g, '⇥') || '∅';

export function f2(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2);
}
export function f3(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3);
}
/** 2 decimals with thousands separators, as the paper's tables (fixed, not locale-dependent). */
export function ppl(x: number | null | undefined): string {
  if (x === null || x === undefined) return '—';
  if (!Number.isFinite(x)) return '∞';
  const [int, frac] = x.toFixed(2).split('.');
  return `${int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac}`;
}
