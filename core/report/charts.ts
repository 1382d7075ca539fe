// The report's figures (paper Figs. 5b-e and 6) as vega-lite specs, rendered to SVG in Node by vega's
// headless View (no canvas, no browser). Specs carry their data inline; nothing is fetched. Points carry a
// vega-lite tooltip, a `description` (the same text, which renderSvg turns into an SVG <title>, a hover
// title that needs no script) and an `href` to their row in the page's tables (links.ts).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { escapeControls, ROW_PREFIX, rowIds } from './links.js';
import { FIG_TARGETS_MAX, RESID_METHODS, type PromptRow, type ReportData, type ResidMethod } from './types.js';

export interface Figure {
  /** Stable id, also the file-name-safe prefix of the SVG's element ids. */
  id: string;
  title: string;
  caption: string;
  /** Null when there is nothing to draw yet (a partial sweep); the page says so instead. */
  spec: vl.TopLevelSpec | null;
}

export function methodLabel(m: ResidMethod, ceThreshold: number): string {
  return { random: 'random', scan: 'dataset scan', epo: 'EPO', epoFluent: `EPO (CE < ${ceThreshold})` }[m];
}

const COLORS: Record<ResidMethod, string> = { random: '#8c8c8c', scan: '#3b75af', epo: '#c0392b', epoFluent: '#e67e22' };

const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  header: { labelFontSize: 12, titleFontSize: 12 },
};

/** `name: value; ...` for a hover title: numbers rounded, prompt texts on one line with controls escaped. */
function tip(parts: Array<[string, string | number | null | undefined]>): string {
  const show = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : escapeControls(v.replace(/\n/g, '↵')));
  return parts
    .filter((p): p is [string, string | number] => p[1] !== null && p[1] !== undefined)
    .map(([k, v]) => `${k}: ${show(v)}`)
    .join('; ');
}

/** What a prompt's point shows on hover: the prompt, f, CE (and z), and the target. */
function promptTip(target: string, r: PromptRow | null | undefined, extra: Array<[string, string | number | null]> = []): string {
  const prompt = r ? (r.text ?? (r.ids ? `[${r.ids.join(' ')}]` : null)) : null;
  return tip([['prompt', prompt], ['f', r?.f], ['CE', r?.ce], ...(r && r.z !== null ? [['z', r.z] as [string, number]] : []), ['target', target], ...extra]);
}

/** The encodings that make a point explorable: tooltip fields, the hover title, the link to its row. */
const explorable = (fields: string[]) => ({ tooltip: fields.map((field) => ({ field })), description: { field: 'tip' }, href: { field: 'href' } });

function methodScale(methods: ResidMethod[], thr: number) {
  return { domain: methods.map((m) => methodLabel(m, thr)), range: methods.map((m) => COLORS[m]) };
}

/** Fig. 5d / 5e: per-vector max z by method, one panel per layer. */
function maxZFigure(data: ReportData, id: string, title: string, methods: ResidMethod[], caption: string): Figure {
  const thr = data.settings.ceThreshold;
  const values = data.pairs.flatMap((p) =>
    methods
      .filter((m) => p.maxZ[m] !== null)
      .map((m) => {
        const r = p.best[m];
        return {
          layer: p.layer,
          vector: p.vector,
          target: p.label,
          method: methodLabel(m, thr),
          z: p.maxZ[m],
          f: r?.f ?? null,
          ce: r?.ce ?? null,
          prompt: r?.text ?? null,
          tip: promptTip(p.label, r, [['method', methodLabel(m, thr)]]),
          href: `#${rowIds.best(p.layer, p.vector, m)}`,
        };
      }),
  );
  const enc = {
    x: { field: 'method', type: 'nominal', sort: methods.map((m) => methodLabel(m, thr)), title: null, axis: { labelAngle: -30 } },
    y: { field: 'z', type: 'quantitative', title: 'max z (sigma of random prompts)' },
    color: { field: 'method', type: 'nominal', scale: methodScale(methods, thr), legend: null },
  } as const;
  return {
    id,
    title,
    caption,
    spec: values.length
      ? ({
          config: CONFIG,
          background: 'white',
          data: { values },
          facet: { column: { field: 'layer', type: 'ordinal', title: 'layer', sort: 'ascending' } },
          spec: {
            width: Math.max(90, 40 * methods.length),
            height: 240,
            layer: [
              { mark: { type: 'boxplot', extent: 'min-max', size: 22, opacity: 0.5 }, encoding: enc },
              { mark: { type: 'tick', thickness: 1.5, size: 14 }, encoding: { ...enc, ...explorable(['target', 'method', 'prompt', 'z', 'f', 'ce']) } },
            ],
          },
        } as unknown as vl.TopLevelSpec)
      : null,
  };
}

/** Fig. 5d: the best z of every method. */
function fig5d(data: ReportData): Figure {
  return maxZFigure(
    data,
    'fig-5d',
    'Max z-score per vector, by method and layer (paper Fig. 5d)',
    ['random', 'scan', 'epo'],
    'For each target vector, the highest alignment each method found, as a z-score against the random prompts of that (layer, vector). Boxes span min to max over vectors; ticks are vectors.',
  );
}

/** Fig. 5e: as 5d, EPO restricted to fluent prompts. */
function fig5e(data: ReportData): Figure {
  const thr = data.settings.ceThreshold;
  return maxZFigure(
    data,
    'fig-5e',
    `Max z-score with EPO limited to CE < ${thr} (paper Fig. 5e)`,
    ['random', 'scan', 'epoFluent'],
    `As Fig. 5d, but EPO counts only prompts with cross-entropy below ${thr}; the scan and random prompts are not restricted.`,
  );
}

/** Fig. 6: mean and std of max z per layer for each method. */
function fig6(data: ReportData): Figure {
  const thr = data.settings.ceThreshold;
  const f6 = data.layers.flatMap((l) =>
    RESID_METHODS.filter((m) => l.maxZ[m].mean !== null).map((m) => {
      const s = l.maxZ[m];
      const sd = s.std ?? 0;
      const tipText = tip([
        ['layer', l.layer],
        ['method', methodLabel(m, thr)],
        ['mean max z', s.mean],
        ['std', s.std],
        ['vectors', s.n],
      ]);
      return { layer: l.layer, method: methodLabel(m, thr), mean: s.mean, lo: s.mean! - sd, hi: s.mean! + sd, n: s.n, tip: tipText, href: `#${rowIds.summary(l.layer)}` };
    }),
  );
  return {
    id: 'fig-6',
    title: 'Mean and standard deviation of max z per layer (paper Fig. 6)',
    caption: 'Points: mean over vectors of the per-vector max z; bars: plus and minus one (unbiased) standard deviation.',
    spec: f6.length
      ? ({
          config: CONFIG,
          background: 'white',
          width: Math.max(300, 70 * data.layers.length),
          height: 260,
          data: { values: f6 },
          encoding: {
            x: { field: 'layer', type: 'ordinal', title: 'layer', axis: { labelAngle: 0 } },
            xOffset: { field: 'method', type: 'nominal', sort: RESID_METHODS.map((m) => methodLabel(m, thr)) },
            color: { field: 'method', type: 'nominal', scale: methodScale([...RESID_METHODS], thr), title: 'method' },
          },
          layer: [
            { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y: { field: 'lo', type: 'quantitative', title: 'max z (mean ± std)' }, y2: { field: 'hi' } } },
            { mark: { type: 'point', filled: true, size: 60 }, encoding: { y: { field: 'mean', type: 'quantitative' }, ...explorable(['layer', 'method', 'mean', 'n']) } },
          ],
        } as unknown as vl.TopLevelSpec)
      : null,
  };
}

/** Fig. 5b: the slack curve. */
function fig5b(data: ReportData): Figure {
  const slack = data.slack.slack;
  const curve = [
    ...data.slack.byLayer.flatMap((c) =>
      slack.map((s, i) => ({ series: `L${c.layer}`, order: c.layer, slack: s, ce: c.meanCe[i], vectors: c.vectors[i], href: `#${rowIds.slack(c.layer)}` })),
    ),
    ...slack.map((s, i) => ({
      series: 'all layers',
      order: Number.MAX_SAFE_INTEGER,
      slack: s,
      ce: data.slack.all.meanCe[i],
      vectors: data.slack.all.vectors[i],
      href: `#${rowIds.slack('all')}`,
    })),
  ]
    .filter((r) => r.ce !== null)
    .map((r) => ({
      ...r,
      tip: tip([
        ['layer', r.series],
        ['slack', r.slack],
        ['mean lowest CE', r.ce],
        ['vectors', r.vectors],
      ]),
    }));
  const seriesOrder = [...data.slack.byLayer.map((c) => `L${c.layer}`), 'all layers'];
  return {
    id: 'fig-5b',
    title: 'Slack curve: lowest CE within s sigma of the best EPO prompt (paper Fig. 5b)',
    caption: 'For each vector, among all valid EPO prompts with z at least (max z - s), the lowest cross-entropy; averaged over vectors, per layer and over all layers.',
    spec: curve.length
      ? ({
          config: CONFIG,
          background: 'white',
          width: 420,
          height: 260,
          data: { values: curve },
          encoding: {
            x: { field: 'slack', type: 'quantitative', title: 'slack s (sigma of random prompts)' },
            y: { field: 'ce', type: 'quantitative', title: 'mean lowest CE', scale: { zero: false } },
            color: { field: 'series', type: 'nominal', sort: seriesOrder, title: 'layer' },
            strokeDash: { condition: { test: "datum.series === 'all layers'", value: [6, 3] }, value: [1, 0] },
          },
          layer: [{ mark: { type: 'line', strokeWidth: 2 } }, { mark: { type: 'point', filled: true, size: 30 }, encoding: explorable(['series', 'slack', 'ce', 'vectors']) }],
        } as unknown as vl.TopLevelSpec)
      : null,
  };
}

/** Fig. 5c: CE at slack 3 beside the corpus's n-token windows. */
function fig5c(data: ReportData): Figure {
  const thr = data.settings.ceThreshold;
  const bins = data.ce.epoAtSlack3;
  const corpus = data.ce.corpus;
  const layers: unknown[] = [];
  if (bins.length) {
    layers.push({
      data: { values: bins },
      mark: { type: 'bar', opacity: 0.75, binSpacing: 1 },
      encoding: {
        x: { field: 'lo', type: 'quantitative', title: 'cross-entropy (nats/token)', scale: { zero: false } },
        x2: { field: 'hi' },
        y: { field: 'density', type: 'quantitative', title: 'density' },
        y2: { datum: 0 },
        color: { datum: 'EPO, slack 3', type: 'nominal' },
      },
    });
  }
  if (corpus) {
    // The corpus as an outline over the same bins: a step line through each bin's density.
    const outline = corpus.bins.flatMap((bin) => [
      { ce: bin.lo, density: bin.density },
      { ce: bin.hi, density: bin.density },
    ]);
    layers.push({
      data: { values: outline },
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x: { field: 'ce', type: 'quantitative', title: 'cross-entropy (nats/token)', scale: { zero: false } },
        y: { field: 'density', type: 'quantitative', title: 'density' },
        color: { datum: `corpus, ${corpus.seqLen}-token windows`, type: 'nominal' },
      },
    });
  }
  if (layers.length) {
    layers.push({
      data: { values: [{ ce: thr }] },
      mark: { type: 'rule', strokeDash: [4, 3], color: '#555' },
      encoding: { x: { field: 'ce', type: 'quantitative' } },
    });
  }
  return {
    id: 'fig-5c',
    title: 'Cross-entropy of EPO prompts at slack 3 beside the corpus (paper Fig. 5c)',
    caption:
      `Bars: per vector, the lowest CE among EPO prompts within 3 sigma of its best (density). Line: the CE histogram of the corpus's ${corpus?.seqLen ?? data.settings.seqLen}-token windows` +
      (corpus ? ` (${corpus.windows} windows; mean ${corpus.mean.toFixed(2)}, std ${corpus.std.toFixed(2)}), on the same bins` : ' (no finished scan: not drawn)') +
      `. Dashed: the CE threshold ${thr}.`,
    spec: layers.length
      ? ({
          config: CONFIG,
          background: 'white',
          width: 420,
          height: 240,
          layer: layers,
          resolve: { scale: { color: 'shared' } },
          encoding: {},
        } as unknown as vl.TopLevelSpec)
      : null,
  };
}

/** Fig. 5a: the corpus's CE against the number of tokens, with one- and two-sigma bands. */
function fig5a(data: ReportData): Figure {
  const lengths = data.ce.byLength.map((l) => ({ ...l, lo1: l.mean - l.std, hi1: l.mean + l.std, lo2: l.mean - 2 * l.std, hi2: l.mean + 2 * l.std }));
  return {
    id: 'fig-5a',
    title: 'Corpus cross-entropy against prompt length (paper Fig. 5a)',
    caption: lengths.length
      ? `The CE of the first m tokens of each scanned window (${lengths[0]!.windows} windows), m = 2..${lengths.at(-1)!.tokens}: mean (line), plus and minus one standard deviation (dark band) and two (light band). The EPO prompts are ${data.settings.seqLen} tokens long.`
      : 'No finished dataset scan: not drawn.',
    spec: lengths.length
      ? ({
          config: CONFIG,
          background: 'white',
          width: 420,
          height: 240,
          data: { values: lengths },
          encoding: { x: { field: 'tokens', type: 'quantitative', title: 'tokens', axis: { tickMinStep: 1 } } },
          layer: [
            {
              mark: { type: 'area', color: '#bbb', opacity: 0.5 },
              encoding: { y: { field: 'lo2', type: 'quantitative', title: 'cross-entropy (nats/token)' }, y2: { field: 'hi2' } },
            },
            { mark: { type: 'area', color: '#888', opacity: 0.5 }, encoding: { y: { field: 'lo1', type: 'quantitative' }, y2: { field: 'hi1' } } },
            {
              mark: { type: 'line', color: '#222', strokeWidth: 2, point: { color: '#222' } },
              encoding: { y: { field: 'mean', type: 'quantitative' }, tooltip: [{ field: 'tokens' }, { field: 'mean', format: '.3f' }, { field: 'std', format: '.3f' }] },
            },
          ],
        } as unknown as vl.TopLevelSpec)
      : null,
  };
}

/**
 * The neuron/logit frontiers (Tables 2, 5 drawn): f against CE per target; absent when the sweep has no
 * targets, or more than FIG_TARGETS_MAX (hundreds of vega panels would make the page slow; notesFor says so).
 */
function figTargets(data: ReportData): Figure | null {
  if (!data.targets.length || data.targets.length > FIG_TARGETS_MAX) return null;
  const tf = data.targets.flatMap((t, ti) =>
    t.frontier.map((p, i) => ({
      target: t.label,
      ce: p.ce,
      f: p.f,
      lambda: p.lambda,
      seed: p.seed,
      prompt: p.text,
      tip: promptTip(t.label, p, [
        ['λ', p.lambda],
        ['seed', p.seed],
      ]),
      href: `#${rowIds.targetFrontier(ti, i)}`,
    })),
  );
  return {
    id: 'fig-targets',
    title: 'Pareto frontiers of the neuron and logit targets (paper Tables 2, 5)',
    caption: "Each target's frontier across its seeds: the objective against cross-entropy, one panel per target.",
    spec: tf.length
      ? ({
          config: CONFIG,
          background: 'white',
          data: { values: tf },
          facet: { field: 'target', type: 'nominal', title: null, sort: data.targets.map((t) => t.label) },
          columns: 3,
          resolve: { scale: { x: 'independent', y: 'independent' } },
          spec: {
            width: 200,
            height: 160,
            encoding: {
              x: { field: 'ce', type: 'quantitative', title: 'CE', scale: { zero: false } },
              y: { field: 'f', type: 'quantitative', title: 'f', scale: { zero: false } },
              order: { field: 'lambda', type: 'quantitative' },
            },
            layer: [
              { mark: { type: 'line', color: '#c0392b' } },
              { mark: { type: 'point', filled: true, color: '#c0392b' }, encoding: explorable(['target', 'prompt', 'f', 'ce', 'lambda', 'seed']) },
            ],
          },
        } as unknown as vl.TopLevelSpec)
      : null,
  };
}

/** The page's figures, in page order; a builder returns null for a figure the sweep has nothing to show in. */
const FIGURES: ReadonlyArray<(data: ReportData) => Figure | null> = [fig5d, fig5e, fig6, fig5b, fig5c, fig5a, figTargets];
/** The figures of the residual study, left out of a sweep of targets alone (no layers) rather than drawn empty. */
const RESID_FIGURES = new Set<(data: ReportData) => Figure | null>([fig5d, fig5e, fig6, fig5b, fig5c]);

/** Why: one list of figures, built from ReportData alone, so report.json holds every number drawn. */
export function figures(data: ReportData): Figure[] {
  const study = data.settings.layers.length > 0;
  return FIGURES.filter((build) => study || !RESID_FIGURES.has(build))
    .map((build) => build(data))
    .filter((fig): fig is Figure => fig !== null);
}

/** Why: figures go into one self-contained page; element ids get the figure's prefix so SVGs never clash. */
export async function renderSvg(fig: Figure): Promise<string> {
  if (!fig.spec) return '';
  const warnings: string[] = [];
  const quiet = {
    level: () => quiet,
    error: (...a: unknown[]) => void warnings.push(a.join(' ')),
    warn: (...a: unknown[]) => void warnings.push(a.join(' ')),
    info: () => quiet,
    debug: () => quiet,
  };
  const compiled = vl.compile(fig.spec, { logger: quiet as unknown as NonNullable<Parameters<typeof vl.compile>[1]>['logger'] }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.None });
  try {
    const svg = await view.toSVG();
    const own = new RegExp(`href="#(?!${ROW_PREFIX})([^"]+)"`, 'g');
    const prefixed = svg
      .replace(/\bid="([^"]+)"/g, `id="${fig.id}-$1"`)
      .replace(/url\(#([^)]+)\)/g, `url(#${fig.id}-$1)`)
      .replace(own, `href="#${fig.id}-$1"`);
    // A linked point's description (its aria-label, escaped by vega) becomes its <title>: the hover text.
    return prefixed.replace(
      new RegExp(`(<a xlink:href="#${ROW_PREFIX}[^"]*">)(<[a-z]+)([^>]*?) aria-label="([^"]*)"`, 'g'),
      (_, a: string, tag: string, attrs: string, label: string) => `${a}<title>${label}</title>${tag}${attrs} aria-label="${label}"`,
    );
  } finally {
    view.finalize();
  }
}
