// report.html: one self-contained page (inline CSS, inline SVG figures, no scripts, nothing fetched) with
// the sweep's status, what is missing, the figures, the tables and the token attributions. A figure's
// points carry hover titles and link to their rows here (links.ts ids); a link into a closed <details>
// opens it (browsers expand details on fragment navigation).
import { figures, methodLabel, renderSvg } from './charts.js';
import { featureSections, FEATURE_CSS } from './feature-page.js';
import { attributionBlock, f2, f3, frontierCells, ppl, promptCells, promptText } from './html.js';
import { esc, rowIds } from './links.js';
import { RESID_METHODS, type Attribution, type ReportData, type Summary } from './types.js';

export interface RenderOptions {
  /** Said in place of the attribution section when there is none (e.g. why it was left out). */
  attributionNote?: string;
}

/** Why: the page a researcher opens; every number in it is also in report.json and the CSVs. */
export async function renderHtml(data: ReportData, attribution: Attribution[] | undefined, options: RenderOptions = {}): Promise<string> {
  const thr = data.settings.ceThreshold;
  const parts: string[] = [];
  const done = data.units.finished === data.units.planned;
  // A sweep of targets alone (no study.layers): no residual tables, rather than empty ones.
  const study = data.settings.layers.length > 0;

  parts.push(`<header><h1>dreamsweep report: ${esc(data.name)}</h1>
<p class="meta">sweep <code>${esc(data.sweepId)}</code> · model <code>${esc(data.modelId.slice(0, 16))}</code> ·${study ? ` layers ${data.settings.layers.join(', ')} ·` : ''}
${data.settings.seqLen}-token prompts · CE threshold ${thr} · perplexity cap ${data.settings.perplexityCap}</p>
<p class="${done ? 'ok' : 'warn'}">${data.units.finished} of ${data.units.planned} units finished${done ? '' : ' (partial report)'}: ${Object.entries(data.units.byMethod)
    .map(([m, c]) => `${esc(m)} ${c.finished}/${c.planned}`)
    .join(' · ')}</p>${
    data.targets.length
      ? `
<p><a href="#features">Per-target studies (paper Figs. 2, 3): ${data.targets.length} neuron, logit and SAE target${data.targets.length === 1 ? '' : 's'}</a></p>`
      : ''
  }</header>`);

  if (data.missing.length) {
    const shown = data.missing.slice(0, 200);
    parts.push(`<section id="missing"><h2>Missing (${data.missing.length})</h2>
<p>These units have not finished, or their artifacts are absent; the numbers below leave them out.</p>
<table><thead><tr><th>unit</th><th>method</th><th>why</th><th>key</th></tr></thead><tbody>
${shown.map((m) => `<tr><td>${esc(m.unit)}</td><td>${esc(m.method)}</td><td>${esc(m.reason)}</td><td><code>${esc(m.key)}</code></td></tr>`).join('\n')}
</tbody></table>${data.missing.length > shown.length ? `<p>… and ${data.missing.length - shown.length} more (report.json lists all).</p>` : ''}</section>`);
  }
  if (data.notes.length) parts.push(`<section id="notes"><h2>Notes</h2><ul>${data.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`);

  // Figures.
  parts.push('<section id="figures"><h2>Figures</h2>\n<p class="meta">Hover a point for its prompt and numbers; click it to go to its row in the tables.</p>');
  for (const fig of figures(data)) {
    const svg = await renderSvg(fig);
    parts.push(`<figure id="${fig.id}" data-figure="${fig.id}"><h3>${esc(fig.title)}</h3>
${svg ? `<div class="svg">${svg}</div>` : '<p class="empty">Nothing to draw yet: no finished units feed this figure.</p>'}
<figcaption>${esc(fig.caption)}</figcaption></figure>`);
  }
  parts.push('</section>');

  // Tables of the residual study.
  if (study) residTables(data, parts);

  if (data.targets.length) {
    parts.push(`<section id="targets"><h2>${data.targets.some((t) => t.method === 'sae') ? 'Neuron, logit and SAE targets' : 'Neuron and logit targets'}</h2>
<h3>Best prompt with perplexity below ${data.settings.perplexityCap} (paper Table 3)</h3>
<table><thead><tr><th>target</th><th>seeds</th><th>f</th><th>CE</th><th>perplexity</th><th>text</th></tr></thead><tbody>
${data.targets
  .map((t, ti) => {
    const b = t.bestUnderCap;
    return `<tr id="${rowIds.targetBest(ti)}"><td>${esc(t.label)}</td><td>${t.seeds.finished}/${t.seeds.planned}</td>${b ? `<td class="num">${f3(b.f)}</td><td class="num">${f2(b.ce)}</td><td class="num">${ppl(b.perplexity)}</td><td>${promptText(b)}</td>` : '<td colspan="4" class="empty">none under the cap</td>'}</tr>`;
  })
  .join('\n')}
</tbody></table>
<h3>Pareto frontiers across seeds (paper Tables 2, 5)</h3>
<table><thead><tr><th>target</th><th>seed</th><th>λ</th><th>f</th><th>CE</th><th>perplexity</th><th>text</th></tr></thead><tbody>
${data.targets.flatMap((t, ti) => t.frontier.map((r, i) => `<tr id="${rowIds.targetFrontier(ti, i)}"${i === 0 ? ' class="group"' : ''}><td>${i === 0 ? esc(t.label) : ''}</td>${frontierCells(r, false)}</tr>`)).join('\n')}
</tbody></table></section>`);
  }

  parts.push(featureSections(data, attribution));

  parts.push(`<section id="attribution"><h2>Token attribution (paper Fig. 1)</h2>`);
  if (attribution?.length) {
    parts.push(`<p>Per token: the colour is the drop in the objective from the prompt's value to the <em>worst</em> of the top-${attribution[0]!.k} gradient
substitutes at that position (dark red: one swap there can remove most of it); the bar height is the drop to the <em>best</em> substitute
(tall: every swap there hurts). Scaled per prompt to the prompt's value or its largest drop.</p>`);
    // A neuron/logit/SAE target's attribution is in its own section (feature-page.ts).
    const resid = attribution.filter((a) => a.target.kind === 'resid');
    for (const a of resid) parts.push(attributionBlock(a));
    if (resid.length < attribution.length) parts.push("<p>The neuron, logit and SAE targets' best prompts are attributed in their sections above.</p>");
  } else {
    parts.push(
      `<p class="empty">${esc(options.attributionNote ?? "Not computed: token attribution needs the model (dreamsweep report --model DIR, or the sweep's report unit).")}</p>`,
    );
  }
  parts.push('</section>');

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dreamsweep report: ${esc(data.name)}</title>
<style>${CSS}${FEATURE_CSS}</style></head>
<body>
${parts.join('\n')}
<footer>dreamsweep ${esc(data.format)} v${data.version} · numbers in report.json and the CSV files beside this page</footer>
</body></html>
`;
}

/** The residual study's tables: summary by layer, slack curve, best prompt per vector, frontier per vector. */
function residTables(data: ReportData, parts: string[]): void {
  const thr = data.settings.ceThreshold;
  const sum = (s: Summary) => (s.mean === null ? '—' : `${f2(s.mean)} ± ${s.std === null ? '—' : f2(s.std)} <span class="n">(${s.n})</span>`);
  parts.push(`<section id="summary"><h2>Summary by layer</h2>
<p>Max z per vector: mean ± std (vectors). CE at slack 3: mean ± std of the per-vector lowest CE.</p>
<table><thead><tr><th>layer</th>${RESID_METHODS.map((m) => `<th>${esc(methodLabel(m, thr))}</th>`).join('')}<th>CE at slack 3</th></tr></thead><tbody>
${data.layers.map((l) => `<tr id="${rowIds.summary(l.layer)}"><td>${l.layer}</td>${RESID_METHODS.map((m) => `<td class="num">${sum(l.maxZ[m])}</td>`).join('')}<td class="num">${sum(l.ceAtSlack3)}</td></tr>`).join('\n')}
</tbody></table>
<h3>Slack curve (Fig. 5b): mean lowest CE</h3>
<table><thead><tr><th>layer</th>${data.slack.slack.map((s) => `<th>s = ${s}</th>`).join('')}</tr></thead><tbody>
${[...data.slack.byLayer.map((c) => ({ name: String(c.layer), id: rowIds.slack(c.layer), ...c })), { name: 'all', id: rowIds.slack('all'), ...data.slack.all }]
  .map((c) => `<tr id="${c.id}"><td>${c.name}</td>${c.meanCe.map((x) => `<td class="num">${f2(x)}</td>`).join('')}</tr>`)
  .join('\n')}
</tbody></table></section>`);

  parts.push(`<section id="best"><h2>Best prompt per vector and method</h2>`);
  for (const L of data.settings.layers) {
    const rows = data.pairs.filter((p) => p.layer === L);
    parts.push(`<details${L === data.settings.layers[0] ? ' open' : ''}><summary>layer ${L} (${rows.length} vectors)</summary>
<table><thead><tr><th>target</th><th>method</th><th>z</th><th>alignment</th><th>CE</th><th>perplexity</th><th>text</th></tr></thead><tbody>
${rows
  .flatMap((p) =>
    RESID_METHODS.map((m, i) => {
      const r = p.best[m];
      return `<tr id="${rowIds.best(p.layer, p.vector, m)}"${i === 0 ? ' class="group"' : ''}><td>${i === 0 ? esc(p.label) : ''}</td><td>${esc(methodLabel(m, thr))}</td>${r ? promptCells(r, true) : '<td colspan="5" class="empty">—</td>'}</tr>`;
    }),
  )
  .join('\n')}
</tbody></table></details>`);
  }
  parts.push('</section>');

  parts.push(`<section id="frontier"><h2>EPO Pareto frontier per vector (across seeds)</h2>`);
  for (const L of data.settings.layers) {
    const rows = data.pairs.filter((p) => p.layer === L && p.frontier.length);
    if (!rows.length) continue;
    parts.push(`<details><summary>layer ${L}</summary>
<table><thead><tr><th>target</th><th>seed</th><th>λ</th><th>z</th><th>alignment</th><th>CE</th><th>perplexity</th><th>text</th></tr></thead><tbody>
${rows.flatMap((p) => p.frontier.map((r, i) => `<tr id="${rowIds.frontier(p.layer, p.vector, i)}"${i === 0 ? ' class="group"' : ''}><td>${i === 0 ? esc(p.label) : ''}</td>${frontierCells(r, true)}</tr>`)).join('\n')}
</tbody></table></details>`);
  }
  parts.push('</section>');
}

const CSS = `
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1120px;color:#1b1b1b;font-size:14px;line-height:1.45;padding:0 16px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}h3{font-size:15px;margin:14px 0 6px}
.meta{color:#555}.ok{color:#1e6b35}.warn{color:#9a5b00;font-weight:bold}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.group td{border-top:1px solid #bbb}
.n{color:#777;font-size:11px}.empty{color:#888;font-style:italic}code{font-size:12px;background:#f3f3f3;padding:0 3px}
.prompt{white-space:pre-wrap;background:#f7f5ef;padding:0 2px}.ids{color:#666;font-family:monospace;font-size:12px}
figure{margin:18px 0;padding:8px 0;border-bottom:1px solid #f0f0f0}figcaption{color:#555;font-size:12px;max-width:900px}.svg{overflow-x:auto}
details{margin:6px 0}tr:target td{background:#fff1a8}svg a{cursor:pointer}summary{cursor:pointer;font-weight:bold}
#missing{background:#fff8e6;padding:4px 12px;border:1px solid #f0d48a}
.attr{margin:10px 0 18px}.toks{display:flex;flex-wrap:wrap;align-items:flex-end;gap:2px}
.tok{display:inline-flex;flex-direction:column;align-items:stretch;justify-content:flex-end;min-height:64px}
.bar{display:block;background:#555;margin:0 2px 2px;min-height:1px}.t{white-space:pre;font-family:monospace;font-size:14px;padding:2px 3px;border:1px solid #e4e4e4}
footer{margin-top:32px;color:#888;font-size:12px}
`;
