// buildReport: the files, their numbers against ReportData, a self-contained page whose every figure has
// marks, and a headless Chromium (Debian's `chromium`) screenshot of it that is far from blank.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { aggregateSweep } from '../../../core/report/aggregate.js';
import { attributeBestPrompts } from '../../../core/report/attribution.js';
import { buildReport } from '../../../core/report/index.js';
import type { Attribution, ReportData } from '../../../core/report/types.js';
import { fakeEngine } from '../../helpers/fake-engine.js';
import { buildFixture } from './fixture.js';
import { chromium, CHROMIUM_FLAGS, parseCsv } from './page-helpers.js';

const FIGURES = ['fig-5d', 'fig-5e', 'fig-6', 'fig-5b', 'fig-5c', 'fig-5a', 'fig-targets'];

/** Figure id -> its <figure> element's HTML. */
function figureHtml(html: string, id: string): string {
  const start = html.indexOf(`<figure id="${id}"`);
  expect(start, `figure ${id} present`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</figure>', start));
}

function screenshot(html: string, png: string): void {
  execFileSync(chromium(), [...CHROMIUM_FLAGS, `--screenshot=${png}`, '--window-size=1200,3000', pathToFileURL(html).href], { stdio: 'pipe', timeout: 60_000 });
}

describe('buildReport', () => {
  let data: ReportData;
  let attribution: Attribution[];
  let files: Record<string, string | Uint8Array>;
  let out: string;
  beforeAll(async () => {
    const fx = await buildFixture();
    data = await aggregateSweep(fx.store, fx.plan.sweepId);
    attribution = await attributeBestPrompts(fakeEngine({ vocab: 64, seqLen: 6, seed: 3, words: { 7: 'model' } }), fx.store, data, { k: 4 });
    files = await buildReport(data, attribution);
    out = mkdtempSync(path.join(tmpdir(), 'dreamsweep-report-out-'));
    for (const [name, body] of Object.entries(files)) writeFileSync(path.join(out, name), body);
  });

  it('writes the page, the JSON and one CSV per table, deterministically', async () => {
    expect(Object.keys(files)).toEqual([
      'attribution.csv',
      'best_prompts.csv',
      'best_under_cap.csv',
      'ce_by_length.csv',
      'ce_distribution.csv',
      'feature_dataset.csv',
      'feature_evaluated.csv',
      'feature_growth.csv',
      'feature_histogram.csv',
      'feature_seed_frontiers.csv',
      'feature_summary.csv',
      'frontiers.csv',
      'max_z_by_vector.csv',
      'report.html',
      'report.json',
      'slack.csv',
      'summary_by_layer.csv',
    ]);
    expect(await buildReport(data, attribution)).toEqual(files);
    expect(Object.keys(await buildReport(data))).not.toContain('attribution.csv');
  });

  it('puts the same numbers in report.json and the CSVs as in ReportData', () => {
    const json = JSON.parse(files['report.json'] as string);
    expect(json.pairs).toEqual(JSON.parse(JSON.stringify(data.pairs)));
    expect(json.attribution).toHaveLength(4);
    const byVector = parseCsv(files['max_z_by_vector.csv'] as string);
    expect(byVector).toHaveLength(data.pairs.length);
    byVector.forEach((r, i) => {
      const p = data.pairs[i]!;
      expect([Number(r.layer), Number(r.vector)]).toEqual([p.layer, p.vector]);
      expect(Number(r.z_epo)).toBe(p.maxZ.epo);
      expect(Number(r.z_epo_fluent)).toBe(p.maxZ.epoFluent);
      expect(Number(r.z_scan)).toBe(p.maxZ.scan);
      expect(Number(r.ce_at_slack3)).toBe(p.ceAtSlack3);
    });
    const summary = parseCsv(files['summary_by_layer.csv'] as string);
    const epo1 = summary.find((r) => r.layer === '1' && r.method === 'EPO')!;
    expect(Number(epo1.mean_max_z)).toBe(data.layers[0]!.maxZ.epo.mean);
    expect(Number(epo1.std_max_z)).toBe(data.layers[0]!.maxZ.epo.std);
    const slack = parseCsv(files['slack.csv'] as string).filter((r) => r.layer === 'all');
    expect(slack.map((r) => Number(r.mean_lowest_ce))).toEqual(data.slack.all.meanCe);
    const best = parseCsv(files['best_prompts.csv'] as string);
    expect(best.find((r) => r.layer === '1' && r.vector === '0' && r.method === 'dataset scan')!.text).toBe(data.pairs[0]!.best.scan!.text);
  });

  it('shows the numbers in the page, rounded', () => {
    const html = files['report.html'] as string;
    const l1 = data.layers[0]!.maxZ.epo;
    expect(html).toContain(`${l1.mean!.toFixed(2)} ± ${l1.std!.toFixed(2)}`);
    expect(html).toContain(data.pairs[0]!.best.scan!.text!);
    for (const m of data.missing) expect(html).toContain(m.unit.replace(/"/g, '&quot;'));
  });

  it('is self-contained: no scripts, no external links or sources', () => {
    const html = files['report.html'] as string;
    expect(html).not.toMatch(/<script|<link|<iframe|<img/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import/);
  });

  it('draws every figure as an SVG with marks', () => {
    const html = files['report.html'] as string;
    for (const id of FIGURES) {
      const fig = figureHtml(html, id);
      expect(fig, id).toContain('<svg');
      expect((fig.match(/<path /g) ?? []).length, id).toBeGreaterThan(5);
    }
  });

  it('links every point of the figures to its table row, with its prompt, f, CE and target on hover', () => {
    const html = files['report.html'] as string;
    const rows = new Set([...html.matchAll(/<tr id="([^"]+)"/g)].map((m) => m[1]));
    const links = [...html.matchAll(/<a xlink:href="#([^"]+)"><title>([^<]*)<\/title>/g)].map((m) => ({ id: m[1]!, title: m[2]! }));
    expect(links.length).toBeGreaterThan(50);
    for (const l of links) expect(rows, l.id).toContain(l.id);
    const unesc = (t: string) =>
      t
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&');
    // Fig. 5d: one linked tick per (vector, method) with a max z; its title names the prompt and the target.
    const d = [...figureHtml(html, 'fig-5d').matchAll(/<a xlink:href="#row-best-L(\d+)-v(\d+)-(\w+)"><title>([^<]*)<\/title>/g)];
    const expected = data.pairs.flatMap((p) => (['random', 'scan', 'epo'] as const).filter((m) => p.maxZ[m] !== null).map((m) => ({ p, m })));
    expect(d).toHaveLength(expected.length);
    for (const [, L, v, m, title] of d) {
      const p = data.pairs.find((q) => q.layer === Number(L) && q.vector === Number(v))!;
      const r = p.best[m as 'epo']!;
      expect(unesc(title!)).toContain(`prompt: ${r.text}; f: ${r.f.toFixed(3)}; CE: ${r.ce!.toFixed(3)}`);
      expect(unesc(title!)).toContain(`target: ${p.label}`);
    }
    // The targets' frontier points: one per frontier row.
    const t = [...figureHtml(html, 'fig-targets').matchAll(/<a xlink:href="#row-target-(\d+)-(\d+)"><title>([^<]*)<\/title>/g)];
    expect(t).toHaveLength(data.targets.reduce((n, x) => n + x.frontier.length, 0));
    for (const [, ti, i, title] of t) {
      const target = data.targets[Number(ti)]!;
      const r = target.frontier[Number(i)]!;
      expect(unesc(title!)).toContain(`prompt: ${r.text}; f: ${r.f.toFixed(3)}; CE: ${r.ce!.toFixed(3)}; target: ${target.label}`);
    }
  });

  it('opens the folded table a figure link points into, in headless Chromium', () => {
    const html = files['report.html'] as string;
    const section = (page: string) => page.slice(page.indexOf('<section id="best">'), page.indexOf('<section id="frontier">'));
    const folded = [...section(html).matchAll(/<details><summary>layer (\d+)/g)].map((m) => Number(m[1]));
    const layer = folded.find((L) => data.pairs.some((p) => p.layer === L && p.maxZ.epo !== null))!;
    const p = data.pairs.find((q) => q.layer === layer && q.maxZ.epo !== null)!;
    const dom = execFileSync(chromium(), [...CHROMIUM_FLAGS, '--dump-dom', `${pathToFileURL(path.join(out, 'report.html')).href}#row-best-L${layer}-v${p.vector}-epo`], {
      encoding: 'utf8',
      stdio: 'pipe',
      timeout: 60_000,
    });
    expect(section(dom)).toMatch(new RegExp(`<details open="">\\s*<summary>layer ${layer} `));
    // The browser's parser keeps each hover title inside its link, inside the SVG.
    const svg = dom.slice(dom.indexOf('<figure id="fig-5d"'), dom.indexOf('</figure>', dom.indexOf('<figure id="fig-5d"')));
    expect((svg.match(/<a xlink:href="#row-best-[^"]+"><title>prompt: /g) ?? []).length).toBeGreaterThan(10);
  });

  it('renders in headless Chromium to a screenshot far from blank', () => {
    const png = path.join(out, 'report.png');
    screenshot(path.join(out, 'report.html'), png);
    const blankHtml = path.join(out, 'blank.html');
    writeFileSync(blankHtml, '<!DOCTYPE html><html><body></body></html>');
    const blankPng = path.join(out, 'blank.png');
    screenshot(blankHtml, blankPng);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([1200, 3000]);
    // A blank 1200x3000 page compresses to about 17 kB; the report's text, tables and charts (about 250 kB) do not.
    expect(statSync(png).size).toBeGreaterThan(Math.max(100_000, 8 * statSync(blankPng).size));
  });
});
