// The per-target studies (paper Figs. 2, 3): computed from the histories and the scan's features as written,
// drawn with the same data the feature_*.csv files hold, linked from the index, shaded per token, and opened
// by a link in headless Chromium; a scan without features (an older sweep) still gives a page.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { paretoFrontier } from '../../../core/epo/frontier.js';
import { History } from '../../../core/epo/history.js';
import { targetKeyJson } from '../../../core/objectives/kinds/index.js';
import { aggregateSweep } from '../../../core/report/aggregate.js';
import { FEATURE_GRID, featureStudy, growthSteps } from '../../../core/report/features.js';
import { notesFor } from '../../../core/report/statistics.js';
import { WINDOWS_SHOWN } from '../../../core/report/feature-page.js';
import { buildReport, figures } from '../../../core/report/index.js';
import { FIG_TARGETS_MAX, type ReportData, type TargetReport } from '../../../core/report/types.js';
import { Rng } from '../../../core/rng.js';
import { buildFixture, decodeWords, type Fixture } from './fixture.js';
import { chromium, CHROMIUM_FLAGS, parseCsv } from './page-helpers.js';

function historiesOf(fx: Fixture, t: TargetReport): Array<{ seed: number; h: History }> {
  return fx.plan.units
    .filter((u) => u.spec.kind === 'epo' && targetKeyJson(u.spec.target) === t.feature.key && fx.histories.has(u.id))
    .map((u) => ({ seed: (u.spec as { seed: number }).seed, h: fx.histories.get(u.id)! }))
    .sort((a, b) => a.seed - b.seed);
}

/** The section of target `ti`: from its <details> to the next. */
function sectionHtml(html: string, ti: number): string {
  const at = html.indexOf(`<div id="feature-${ti}"`);
  const start = html.lastIndexOf('<details class="feature"', at);
  return html.slice(start, html.indexOf('</details>', at));
}

/** The `M x y h0` dots of each <path> with round caps in a figure, in order. */
function dotCounts(figure: string): number[] {
  return [...figure.matchAll(/<path d="([^"]*)" stroke="[^"]*" stroke-width="[^"]*" stroke-linecap="round"/g)].map((m) => (m[1]!.match(/h0/g) ?? []).length);
}

describe('per-target studies', () => {
  let fx: Fixture;
  let data: ReportData;
  let files: Record<string, string | Uint8Array>;
  let html: string;
  let out: string;
  beforeAll(async () => {
    fx = await buildFixture({ unfinished: [], noHistory: null });
    data = await aggregateSweep(fx.store, fx.plan.sweepId, { decode: decodeWords });
    files = await buildReport(data);
    html = files['report.html'] as string;
    out = mkdtempSync(path.join(tmpdir(), 'dreamsweep-features-out-'));
    for (const [name, body] of Object.entries(files)) writeFileSync(path.join(out, name), body);
  });

  it('computes Figs. 3, 2a, 2b and the verdict from the histories and the scan feature', () => {
    expect(data.targets.map((t) => t.label)).toEqual(['neuron L1.N3', 'logit " model"']);
    for (const t of data.targets) {
      const runs = historiesOf(fx, t);
      expect(runs.map((r) => r.seed)).toEqual([0, 1]);
      const valid = runs
        .flatMap(({ seed, h }) =>
          h.iterations.flatMap((it, iteration) =>
            Array.from(it.f, (f, i) => ({ seed, iteration, f, ce: it.ce[i]!, ok: it.valid[i] === 1, ids: Array.from(it.ids.subarray(i * h.seqLen, (i + 1) * h.seqLen)) })),
          ),
        )
        .filter((r) => r.ok);
      // Fig. 3: every valid candidate counted; those drawn are a subset, the undominated all among them.
      expect(t.feature.evaluated.total).toBe(valid.length);
      const drawn = new Set(t.feature.evaluated.points.map((p) => `${p.seed}:${p.iteration}:${p.f}:${p.ce}`));
      for (const v of valid) if (!valid.some((w) => w.ce <= v.ce && w.f >= v.f && (w.ce < v.ce || w.f > v.f))) expect(drawn).toContain(`${v.seed}:${v.iteration}:${v.f}:${v.ce}`);
      // Fig. 2a: each seed's frontier is core/epo/frontier.ts's on that seed's history.
      expect(t.feature.seedFrontiers.map((s) => s.seed)).toEqual([0, 1]);
      t.feature.seedFrontiers.forEach((s, i) =>
        expect(s.points.map((p) => [p.f, p.ce, p.text])).toEqual(paretoFrontier([runs[i]!.h], decodeWords).map((p) => [p.f, p.ce, p.text])),
      );
      // Fig. 2b: the lowest seed's frontier after 1, 2 and all 5 iterations.
      const g = t.feature.growth!;
      expect([g.seed, g.iterations, g.steps.map((s) => s.iterations)]).toEqual([0, 5, [1, 2, 5]]);
      for (const st of g.steps) {
        const prefix = new History(runs[0]!.h.seqLen, runs[0]!.h.lambdas);
        runs[0]!.h.iterations.slice(0, st.iterations).forEach((it) => prefix.push(it));
        expect(st.points.map((p) => [p.f, p.ce])).toEqual(paretoFrontier([prefix], decodeWords).map((p) => [p.f, p.ce]));
      }
      // The dataset side is the scan's feature of the same key, and the verdict follows the rule.
      const feature = fx.scan.features!.find((f) => f.key === t.feature.key)!;
      expect(t.feature.dataset!.top.map((w) => [w.activation, w.ce, w.text, w.activations])).toEqual(feature.top.map((w) => [w.activation, w.ce, w.text, w.activations]));
      expect(t.feature.dataset!.top[0]!.tokens).toEqual(feature.top[0]!.ids.map((id) => decodeWords([id])));
      const bar = feature.top[0]!;
      const fluent = valid.filter((v) => v.ce <= bar.ce);
      const best = Math.max(...fluent.map((v) => v.f));
      expect(t.feature.comparison).toMatchObject({ datasetActivation: bar.activation, datasetCe: bar.ce, epoActivation: best, beat: best > bar.activation });
    }
  });

  it('thins a huge history on the grid, deterministically, keeping the upper edge', () => {
    const rng = Rng.seeded(7);
    const h = new History(4, [0, 1]);
    for (let t = 0; t < 200; t++) {
      h.push({
        ids: Int32Array.from({ length: 400 * 4 }, () => rng.int(50)),
        f: Float32Array.from({ length: 400 }, () => rng.normal()),
        ce: Float32Array.from({ length: 400 }, () => 2 + 4 * rng.float()),
        valid: new Uint8Array(400).fill(1),
        keep: Int32Array.from([0, 1]),
        restartLambda: Number.NaN,
      });
    }
    const a = featureStudy({ kind: 'neuron', layer: 0, index: 1 }, [{ seed: 3, history: h }], undefined, { textOf: () => null });
    expect(a.evaluated.total).toBe(80_000);
    expect(a.evaluated.points.length).toBeLessThanOrEqual(FEATURE_GRID.ce * FEATURE_GRID.f + 100);
    expect(a.evaluated.points.length).toBeGreaterThan(200);
    expect(Math.max(...a.evaluated.points.map((p) => p.f))).toBe(Math.max(...h.iterations.flatMap((it) => Array.from(it.f))));
    expect(featureStudy({ kind: 'neuron', layer: 0, index: 1 }, [{ seed: 3, history: h }], undefined, { textOf: () => null })).toEqual(a);
    expect([a.dataset, a.comparison]).toEqual([null, null]);
    expect(growthSteps(200)).toEqual([4, 13, 50, 200]);
    expect(growthSteps(1)).toEqual([1]);
  });

  it('draws each figure from the data its CSV holds', () => {
    const evaluated = parseCsv(files['feature_evaluated.csv'] as string);
    const dataset = parseCsv(files['feature_dataset.csv'] as string);
    const seedFrontiers = parseCsv(files['feature_seed_frontiers.csv'] as string);
    const growth = parseCsv(files['feature_growth.csv'] as string);
    const summary = parseCsv(files['feature_summary.csv'] as string);
    const histogram = parseCsv(files['feature_histogram.csv'] as string);
    data.targets.forEach((t, ti) => {
      const mine = (rows: Array<Record<string, string>>) => rows.filter((r) => r.target === t.label);
      const s = t.feature;
      // CSVs == ReportData, at full precision.
      expect(mine(evaluated).map((r) => [Number(r.seed), Number(r.iteration), Number(r.f), Number(r.ce)])).toEqual(s.evaluated.points.map((p) => [p.seed, p.iteration, p.f, p.ce]));
      expect(mine(dataset).map((r) => [Number(r.rank), Number(r.activation), Number(r.ce), r.text, r.activations!.split(' ').map(Number)])).toEqual(
        s.dataset!.top.map((w) => [w.rank, w.activation, w.ce, w.text, w.activations]),
      );
      expect(mine(seedFrontiers).map((r) => [Number(r.seed), Number(r.f), Number(r.ce), r.text])).toEqual(
        s.seedFrontiers.flatMap((f) => f.points.map((p) => [f.seed, p.f, p.ce, p.text])),
      );
      expect(mine(growth).map((r) => [Number(r.iterations), Number(r.f), Number(r.ce)])).toEqual(s.growth!.steps.flatMap((st) => st.points.map((p) => [st.iterations, p.f, p.ce])));
      const sum = mine(summary)[0]!;
      expect([Number(sum.epo_evaluated), Number(sum.epo_activation), Number(sum.dataset_activation), sum.beat_dataset, Number(sum['q0.99'])]).toEqual([
        s.evaluated.total,
        s.comparison!.epoActivation,
        s.comparison!.datasetActivation,
        String(s.comparison!.beat),
        s.dataset!.quantiles.find((q) => q.q === 0.99)!.value,
      ]);
      expect(mine(histogram).reduce((a, r) => a + Number(r.count), 0)).toBe(s.dataset!.count);
      // The figures draw one dot per CSV row: Fig. 3's EPO dots, its dataset dots, its frontier; Fig. 2a a
      // series per seed; Fig. 2b a series per step.
      const section = sectionHtml(html, ti);
      const figs = section.split('<figure class="ffig">').slice(1);
      expect(figs).toHaveLength(3);
      expect(dotCounts(figs[0]!)).toEqual([mine(evaluated).length, mine(dataset).length, t.frontier.length]);
      expect(dotCounts(figs[1]!)).toEqual(s.seedFrontiers.map((f) => mine(seedFrontiers).filter((r) => Number(r.seed) === f.seed).length));
      expect(dotCounts(figs[2]!)).toEqual(s.growth!.steps.map((st) => mine(growth).filter((r) => Number(r.iterations) === st.iterations).length));
      expect(section).toContain(`Seed ${s.growth!.seed} (the lowest finished), its frontier over the first 1, 2, 5 of its 5 iterations.`);
    });
  });

  it('links every index entry to its section, and shades each window token by its activation', () => {
    const ids = new Set([...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]));
    expect(html).toContain('<a href="#features">Per-target studies (paper Figs. 2, 3): 2 neuron, logit and SAE targets</a>');
    expect(ids).toContain('features');
    const links = [...html.matchAll(/<a href="#(feature-\d+)">/g)].map((m) => m[1]!);
    expect(links).toEqual(data.targets.map((_, i) => `feature-${i}`));
    for (const l of links) expect(ids).toContain(l);
    data.targets.forEach((t, ti) => {
      const section = sectionHtml(html, ti);
      const shown = t.feature.dataset!.top.slice(0, WINDOWS_SHOWN);
      const toks = [...section.matchAll(/<i class="h(\d)" title="([^"]+)">([^<]*)<\/i>/g)];
      expect(toks.map((m) => [m[2], m[3]])).toEqual(shown.flatMap((w) => w.activations!.map((a, i) => [a.toFixed(3), w.tokens![i]])));
      // The darkest shade on the largest activation shown, none on the lowest of 0 and the values shown.
      const values = shown.flatMap((w) => w.activations!);
      const [max, min] = [Math.max(...values), Math.min(0, ...values)];
      expect(toks.find((m) => Number(m[2]) === Number(max.toFixed(3)))![1]).toBe('9');
      if (min < 0) expect(toks.find((m) => Number(m[2]) === Number(min.toFixed(3)))![1]).toBe('0');
      // Shades rise with the activation.
      const byValue = toks.map((m) => [Number(m[2]), Number(m[1])] as const).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < byValue.length; i++) expect(byValue[i]![1]).toBeGreaterThanOrEqual(byValue[i - 1]![1]);
      const c = t.feature.comparison!;
      expect(section).toContain(
        `${c.beat ? 'Dreaming beat the dataset' : 'Dreaming did not beat the dataset'} at comparable CE: the best EPO prompt with CE ≤ ${c.datasetCe.toFixed(3)}`,
      );
      expect(section).toContain(`reaches ${c.epoActivation!.toFixed(3)} at CE ${c.epoCe!.toFixed(3)}`);
    });
  });

  it('opens the folded section an index link points to, in headless Chromium', () => {
    const dom = execFileSync(chromium(), [...CHROMIUM_FLAGS, '--dump-dom', `${pathToFileURL(path.join(out, 'report.html')).href}#feature-1`], {
      encoding: 'utf8',
      stdio: 'pipe',
      timeout: 60_000,
    });
    const open = [...dom.matchAll(/<details class="feature"( open="")?>/g)].map((m) => m[1] !== undefined);
    expect(open).toEqual([false, true]);
    // The browser keeps the shaded tokens and the SVG plots as written.
    expect((sectionHtml(dom, 1).match(/<i class="h\d" title=/g) ?? []).length).toBeGreaterThan(10);
    expect((sectionHtml(dom, 1).match(/<svg /g) ?? []).length).toBe(4);
  });

  it('leaves the figure of all targets out past FIG_TARGETS_MAX targets, their sections drawing each', () => {
    expect(figures(data).map((f) => f.id)).toContain('fig-targets');
    const many = { ...data, targets: Array.from({ length: FIG_TARGETS_MAX + 1 }, () => data.targets[0]!) };
    expect(figures(many).map((f) => f.id)).not.toContain('fig-targets');
    expect(data.notes.join(' ')).not.toContain('the figure of all their frontiers is left out');
    expect(notesFor(fx.plan, [1, 2], fx.scan, data.ce, data.pairs, many.targets, 4, 100)).toContain(
      `With ${FIG_TARGETS_MAX + 1} neuron, logit and SAE targets the figure of all their frontiers is left out; each target's section under "Per-target studies" draws its own (Figs. 2a, 3).`,
    );
  });

  it('reads a scan without features (an older sweep): no dataset side, the rest drawn', async () => {
    const old = await buildFixture({ features: false });
    const d = await aggregateSweep(old.store, old.plan.sweepId);
    for (const t of d.targets) expect([t.feature.dataset, t.feature.comparison]).toEqual([null, null]);
    const page = (await buildReport(d))['report.html'] as string;
    expect(page).toContain('No dataset comparison: the sweep has no finished scan with this feature.');
    expect(page).toContain('<h4>Fig. 3: activation against CE</h4><svg');
  });
});
