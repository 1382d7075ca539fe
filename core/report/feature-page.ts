// The report's per-feature part: an index of the neuron, logit and SAE targets, then one folded section per
// target with paper Figs. 3, 2a and 2b (compact SVG, feature-charts.ts), its best prompts with token
// attribution (Fig. 1), the scan's top windows with each token shaded by the feature's activation there (as
// Neuronpedia shows them), the activation distribution and the "dreaming beat the dataset" line. Each section
// is a <details>: a page of hundreds of targets opens folded, and a link to a section opens it.
import { canonicalJson } from '../canonical-json.js';
import { histogramSvg, legendHtml, plotSvg, type Series } from './feature-charts.js';
import { attributionBlock, f2, f3, ppl, promptText } from './html.js';
import { esc, rowIds } from './links.js';
import type { Attribution, DreamVsDataset, FeatureDataset, ReportData, TargetReport } from './types.js';

/** Windows shown shaded per target in the page (all of them are in report.json and feature_dataset.csv). */
export const WINDOWS_SHOWN = 16;
/** Frontier rows shown per target in its section (the full frontiers are in the tables above and frontiers.csv). */
export const BEST_SHOWN = 5;
/** Shading steps of a token's activation (CSS classes h0..h9). */
const SHADES = 10;

const SEED_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
const GROWTH_COLORS = ['#fdd0a2', '#fd8d3c', '#d94801', '#7f2704'];

/** The sentence that says whether dreaming beat the dataset at comparable CE, with its numbers. */
export function verdictText(c: DreamVsDataset | null, dataset: FeatureDataset | null): string {
  if (!dataset) return 'No dataset comparison: the sweep has no finished scan with this feature.';
  if (!c) return 'No dataset comparison: the scan found no window for this feature.';
  const bar = `the dataset's top window (activation ${f3(c.datasetActivation)} at CE ${f3(c.datasetCe)})`;
  if (c.epoActivation === null) return `Not compared: no valid EPO prompt is as fluent as ${bar}.`;
  const diff = c.epoActivation - c.datasetActivation;
  return (
    `${c.beat ? 'Dreaming beat the dataset' : 'Dreaming did not beat the dataset'} at comparable CE: the best EPO prompt with CE ≤ ${f3(c.datasetCe)} ` +
    `(seed ${c.epoSeed}) reaches ${f3(c.epoActivation)} at CE ${f3(c.epoCe)}, against ${bar}; difference ${diff >= 0 ? '+' : ''}${f3(diff)}.`
  );
}

/** Why: the targets' index and sections; `attribution` entries of each target go into its section. */
export function featureSections(data: ReportData, attribution: Attribution[] | undefined): string {
  if (!data.targets.length) return '';
  const byTarget = new Map<string, Attribution[]>();
  for (const a of attribution ?? []) {
    if (a.target.kind === 'resid') continue;
    const k = canonicalJson(a.target);
    byTarget.set(k, [...(byTarget.get(k) ?? []), a]);
  }
  const index = data.targets
    .map((t, ti) => {
      const c = t.feature.comparison;
      return `<tr><td><a href="#${rowIds.feature(ti)}">${esc(t.label)}</a></td><td>${t.seeds.finished}/${t.seeds.planned}</td><td class="num">${f3(t.frontier[0]?.f)}</td><td class="num">${f3(t.feature.dataset?.max)}</td><td>${
        c
          ? c.epoActivation === null
            ? 'not compared'
            : c.beat
              ? `yes (${f3(c.epoActivation)} vs ${f3(c.datasetActivation)})`
              : `no (${f3(c.epoActivation)} vs ${f3(c.datasetActivation)})`
          : '—'
      }</td></tr>`;
    })
    .join('\n');
  const sections = data.targets.map((t, ti) => targetSection(t, ti, byTarget.get(canonicalJson(t.target)) ?? [], data));
  return `<section id="features"><h2>Per-target studies (paper Figs. 2, 3)</h2>
<p>One section per neuron, logit or SAE target, folded; a name in the index opens its section. "Beat the dataset": the highest activation of
any valid EPO prompt with CE at most the CE of the dataset's top window, against that window's activation.</p>
<table class="index"><thead><tr><th>target</th><th>seeds</th><th>best EPO f</th><th>dataset max</th><th>beat the dataset at comparable CE</th></tr></thead><tbody>
${index}
</tbody></table>
${sections.join('\n')}
</section>`;
}

function targetSection(t: TargetReport, ti: number, attribution: Attribution[], data: ReportData): string {
  const s = t.feature;
  const d = s.dataset;
  const figs: string[] = [];

  // Fig. 3: every valid candidate EPO evaluated, the dataset's top windows, and the frontier across seeds.
  const fig3: Series[] = [
    {
      name: `EPO candidates (${s.evaluated.points.length} of ${s.evaluated.total} drawn)`,
      color: '#e8a09a',
      points: s.evaluated.points.map((p) => [p.ce, p.f]),
      mark: 'dots',
      size: 2.5,
    },
    { name: `top ${d?.top.length ?? 0} dataset windows`, color: '#3b75af', points: (d?.top ?? []).map((w) => [w.ce, w.activation]), mark: 'dots', size: 4.5 },
    { name: 'EPO frontier across seeds', color: '#8e1b12', points: t.frontier.map((p) => [p.ce ?? NaN, p.f]), mark: 'both', size: 3.5 },
  ];
  figs.push(
    figure(
      'Fig. 3: activation against CE',
      fig3,
      `Every valid prompt EPO evaluated for this target (${s.evaluated.total} candidates over ${t.seeds.finished} seeds, repeats included; at most one per cell of a grid plus every undominated one drawn) and the scan's top dataset windows.`,
    ),
  );
  const fig2a: Series[] = s.seedFrontiers.map((f, i) => ({
    name: `seed ${f.seed}`,
    color: SEED_COLORS[i % SEED_COLORS.length]!,
    points: f.points.map((p) => [p.ce ?? NaN, p.f]),
    mark: 'both',
    size: 3,
  }));
  figs.push(figure('Fig. 2a: each seed’s frontier', fig2a, 'The Pareto frontier (activation against CE) of each finished EPO run of this target.'));
  const g = s.growth;
  const fig2b: Series[] = (g?.steps ?? []).map((st, i, all) => ({
    name: `after ${st.iterations} iteration${st.iterations === 1 ? '' : 's'}`,
    color: GROWTH_COLORS[GROWTH_COLORS.length - all.length + i] ?? '#7f2704',
    points: st.points.map((p) => [p.ce, p.f]),
    mark: 'both',
    size: 3,
  }));
  figs.push(
    figure(
      'Fig. 2b: one run’s frontier as it grows',
      fig2b,
      g
        ? `Seed ${g.seed} (the lowest finished), its frontier over the first ${g.steps.map((x) => x.iterations).join(', ')} of its ${g.iterations} iterations.`
        : 'No finished run.',
    ),
  );

  const best = t.frontier.slice(0, BEST_SHOWN);
  const b = t.bestUnderCap;
  const bestRows = [
    ...(b
      ? [
          `<tr><td>best with perplexity &lt; ${data.settings.perplexityCap}</td><td>${b.seed}</td><td class="num">${f3(b.f)}</td><td class="num">${f2(b.ce)}</td><td class="num">${ppl(b.perplexity)}</td><td>${promptText(b)}</td></tr>`,
        ]
      : []),
    ...best.map(
      (r, i) =>
        `<tr><td>frontier ${i + 1}</td><td>${r.seed ?? ''}</td><td class="num">${f3(r.f)}</td><td class="num">${f2(r.ce)}</td><td class="num">${ppl(r.perplexity)}</td><td>${promptText(r)}</td></tr>`,
    ),
  ];
  const c = s.comparison;
  return `<details class="feature"><summary>${esc(t.label)} <span class="n">${t.seeds.finished}/${t.seeds.planned} seeds${c && c.epoActivation !== null ? ` · ${c.beat ? 'beat' : 'did not beat'} the dataset` : ''}</span></summary>
<div id="${rowIds.feature(ti)}" class="fbody">
<p class="verdict">${esc(verdictText(c, d))}</p>
<div class="figs">${figs.join('')}</div>
<h4>Best prompts</h4>
${bestRows.length ? `<table><thead><tr><th></th><th>seed</th><th>f</th><th>CE</th><th>perplexity</th><th>text</th></tr></thead><tbody>${bestRows.join('')}</tbody></table>` : '<p class="empty">No finished run.</p>'}
${attribution.map(attributionBlock).join('')}
<h4>Top dataset windows</h4>
${d ? windowsHtml(d) : '<p class="empty">No scan of this feature (the sweep has no finished scan, or its scan predates features).</p>'}
${d ? distributionHtml(d) : ''}
</div></details>`;
}

function figure(title: string, series: Series[], caption: string): string {
  const svg = plotSvg({ xTitle: 'cross-entropy (nats/token)', yTitle: 'activation f', series });
  return `<figure class="ffig"><h4>${esc(title)}</h4>${svg || '<p class="empty">Nothing to draw.</p>'}${svg ? legendHtml(series) : ''}<figcaption>${esc(caption)}</figcaption></figure>`;
}

/**
 * Each window a line of tokens, a token's background its activation on the scale [lo, hi] of the values shown, lo = 0
 * unless some are negative (as Neuronpedia for a feature that fires; a logit target's f is never positive, so its
 * shading runs from its lowest value shown).
 */
function windowsHtml(d: FeatureDataset): string {
  const shown = d.top.slice(0, WINDOWS_SHOWN);
  if (!shown.length) return '<p class="empty">The scan found no window.</p>';
  const values = shown.flatMap((w) => w.activations ?? [w.activation]);
  const hi = Math.max(...values);
  const lo = Math.min(0, ...values);
  const lines = shown.map((w) => {
    const toks = w.tokens ?? w.ids.map((id) => `#${id}`);
    const body = w.activations
      ? toks
          .map((tok, i) => {
            const a = w.activations![i]!;
            const h = hi > lo ? Math.min(SHADES - 1, Math.max(0, Math.round(((a - lo) / (hi - lo)) * (SHADES - 1)))) : 0;
            return `<i class="h${h}" title="${f3(a)}">${esc(visibleToken(tok))}</i>`;
          })
          .join('')
      : `<span class="prompt">${esc(w.text)}</span>`;
    return `<div class="win"><span class="wn">${w.rank}. ${f3(w.activation)} · CE ${f2(w.ce)}</span>${body}</div>`;
  });
  return `<p class="meta">Shading: the activation at each token from ${f3(lo)} (none) to ${f3(hi)} (darkest), the range shown; hover a token for its value.${
    shown.some((w) => !w.activations) ? ' Windows without per-token activations are shown as text.' : ''
  }${d.top.length > shown.length ? ` The first ${shown.length} of ${d.top.length}; all are in feature_dataset.csv.` : ''}</p>
<div class="wins">${lines.join('')}</div>`;
}

function visibleToken(t: string): string {
  return t.replace(/\n/g, '↵').replace(/\t/g, '⇥') || '∅';
}

function distributionHtml(d: FeatureDataset): string {
  const q = d.quantiles.map((x) => `<th>q${x.q}</th>`).join('');
  const qv = d.quantiles.map((x) => `<td class="num">${f3(x.value)}</td>`).join('');
  return `<h4>Activation over the corpus</h4>
<table><thead><tr><th>windows</th><th>excluded</th><th>mean</th><th>std</th><th>min</th><th>max</th>${q}</tr></thead>
<tbody><tr><td class="num">${d.count}</td><td class="num">${d.excluded}</td><td class="num">${f3(d.mean)}</td><td class="num">${f3(d.std)}</td><td class="num">${f3(d.min)}</td><td class="num">${f3(d.max)}</td>${qv}</tr></tbody></table>
${histogramSvg(d.histogram)}<p class="meta">Histogram: log-linear buckets in value order (negative, zero, positive), bar height the square root of the count; exact counts in feature_histogram.csv.</p>`;
}

export const FEATURE_CSS = `
.index td{padding:1px 8px}.feature{border-bottom:1px solid #eee;padding:2px 0}.feature>summary{font-weight:normal}
.fbody{padding:4px 0 10px 14px}.verdict{font-weight:bold}.figs{display:flex;flex-wrap:wrap;gap:8px}.ffig{margin:4px 0;border:0;width:350px}
.ffig h4{margin:2px 0;font-size:13px}.legend{margin:0;font-size:11px}.ffig figcaption{font-size:11px}h4{font-size:13px;margin:10px 0 4px}
.wins{font-family:monospace;font-size:13px}.win{margin:2px 0;white-space:pre-wrap}.wn{color:#666;font-family:sans-serif;font-size:11px;display:inline-block;min-width:150px}
.win i{font-style:normal;white-space:pre;border-radius:2px}
${Array.from({ length: SHADES }, (_, h) => `.h${h}{background:rgba(230,126,34,${(h / (SHADES - 1)).toFixed(2)})}`).join('')}
`;
