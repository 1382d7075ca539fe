// The report's numbers as CSV files (RFC 4180: comma-separated, quoted where needed, \n line ends), one per
// table or figure, full precision (JavaScript's shortest round-trip form), empty cells for missing values.
import { QUANTILES } from '../stats/histogram.js';
import { methodLabel } from './charts.js';
import { RESID_METHODS, type Attribution, type FrontierRow, type PromptRow, type ReportData } from './types.js';

type Cell = string | number | null | undefined;

function cell(v: Cell): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csv(header: string[], rows: Cell[][]): string {
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

const idsCell = (ids: number[] | null) => (ids ? ids.join(' ') : null);

/** Why: every number the page shows is also in a file a spreadsheet or pandas reads directly. */
export function reportCsvs(data: ReportData, attribution?: Attribution[]): Record<string, string> {
  const thr = data.settings.ceThreshold;
  const files: Record<string, string> = {};

  files['summary_by_layer.csv'] = csv(
    ['layer', 'method', 'vectors', 'mean_max_z', 'std_max_z', 'min_max_z', 'max_max_z'],
    data.layers.flatMap((l) => RESID_METHODS.map((m) => [l.layer, methodLabel(m, thr), l.maxZ[m].n, l.maxZ[m].mean, l.maxZ[m].std, l.maxZ[m].min, l.maxZ[m].max])),
  );

  files['max_z_by_vector.csv'] = csv(
    ['layer', 'vector', 'target', 'mu_random', 'sigma_random', 'z_random', 'z_scan', 'z_epo', 'z_epo_fluent', 'ce_at_slack3', 'epo_seeds_finished', 'epo_seeds_planned'],
    data.pairs.map((p) => [
      p.layer,
      p.vector,
      p.label,
      p.random?.mean,
      p.random?.std,
      p.maxZ.random,
      p.maxZ.scan,
      p.maxZ.epo,
      p.maxZ.epoFluent,
      p.ceAtSlack3,
      p.epoSeeds.finished,
      p.epoSeeds.planned,
    ]),
  );

  files['slack.csv'] = csv(
    ['layer', 'slack', 'mean_lowest_ce', 'vectors'],
    [
      ...data.slack.byLayer.flatMap((c) => data.slack.slack.map((s, i) => [c.layer, s, c.meanCe[i], c.vectors[i]])),
      ...data.slack.slack.map((s, i) => ['all', s, data.slack.all.meanCe[i], data.slack.all.vectors[i]]),
    ],
  );

  files['ce_distribution.csv'] = csv(
    ['series', 'lo', 'hi', 'count', 'density'],
    [...data.ce.epoAtSlack3.map((b) => ['epo_slack3', b.lo, b.hi, b.count, b.density]), ...(data.ce.corpus?.bins ?? []).map((b) => ['corpus', b.lo, b.hi, b.count, b.density])],
  );
  files['ce_by_length.csv'] = csv(
    ['tokens', 'windows', 'mean_ce', 'std_ce'],
    data.ce.byLength.map((l) => [l.tokens, l.windows, l.mean, l.std]),
  );

  const promptCells = (r: PromptRow) => [r.f, r.z, r.ce, r.perplexity, r.text, idsCell(r.ids)];
  files['best_prompts.csv'] = csv(
    ['layer', 'vector', 'target', 'method', 'alignment', 'z', 'ce', 'perplexity', 'text', 'ids'],
    data.pairs.flatMap((p) => RESID_METHODS.filter((m) => p.best[m]).map((m) => [p.layer, p.vector, p.label, methodLabel(m, thr), ...promptCells(p.best[m]!)])),
  );

  const frontierCells = (label: string, r: FrontierRow) => [label, r.seed, r.lambda, r.f, r.z, r.ce, r.perplexity, r.text, idsCell(r.ids)];
  files['frontiers.csv'] = csv(
    ['target', 'seed', 'lambda', 'f', 'z', 'ce', 'perplexity', 'text', 'ids'],
    [...data.pairs.flatMap((p) => p.frontier.map((r) => frontierCells(`resid ${p.label}`, r))), ...data.targets.flatMap((t) => t.frontier.map((r) => frontierCells(t.label, r)))],
  );

  if (data.targets.length) {
    files['best_under_cap.csv'] = csv(
      ['target', 'perplexity_cap', 'seed', 'on_frontier', 'f', 'ce', 'perplexity', 'text', 'ids'],
      data.targets.map((t) => {
        const b = t.bestUnderCap;
        return [t.label, data.settings.perplexityCap, b?.seed, b ? String(b.onFrontier) : null, b?.f, b?.ce, b?.perplexity, b?.text, b ? idsCell(b.ids) : null];
      }),
    );
  }

  if (data.targets.length) Object.assign(files, featureCsvs(data));

  if (attribution?.length) {
    files['attribution.csv'] = csv(
      ['prompt', 'f', 'k', 'position', 'token', 'text', 'drop_from_worst', 'drop_from_best'],
      attribution.flatMap((a) => a.positions.map((p) => [a.label, a.f, a.k, p.position, p.token, p.text, p.dropFromWorst, p.dropFromBest])),
    );
  }
  return files;
}

/** The per-target studies (core/report/features.ts): one file per figure's data, and a summary with the verdict. */
function featureCsvs(data: ReportData): Record<string, string> {
  const T = data.targets;
  const ql = (q: number) => `q${q}`;
  return {
    'feature_summary.csv': csv(
      [
        'target',
        'key',
        'seeds_finished',
        'seeds_planned',
        'epo_evaluated',
        'epo_drawn',
        'windows',
        'excluded',
        'mean',
        'std',
        'min',
        'max',
        ...QUANTILES.map(ql),
        'dataset_activation',
        'dataset_ce',
        'epo_activation',
        'epo_ce',
        'epo_seed',
        'beat_dataset',
      ],
      T.map((t) => {
        const { dataset: d, comparison: c } = t.feature;
        return [
          t.label,
          t.feature.key,
          t.seeds.finished,
          t.seeds.planned,
          t.feature.evaluated.total,
          t.feature.evaluated.points.length,
          d?.count,
          d?.excluded,
          d?.mean,
          d?.std,
          d?.min,
          d?.max,
          ...QUANTILES.map((q) => d?.quantiles.find((x) => x.q === q)?.value),
          c?.datasetActivation,
          c?.datasetCe,
          c?.epoActivation,
          c?.epoCe,
          c?.epoSeed,
          c ? String(c.beat) : null,
        ];
      }),
    ),
    'feature_evaluated.csv': csv(
      ['target', 'seed', 'iteration', 'f', 'ce'],
      T.flatMap((t) => t.feature.evaluated.points.map((p) => [t.label, p.seed, p.iteration, p.f, p.ce])),
    ),
    'feature_dataset.csv': csv(
      ['target', 'rank', 'activation', 'ce', 'file', 'byte_offset', 'token', 'text', 'ids', 'activations'],
      T.flatMap((t) =>
        (t.feature.dataset?.top ?? []).map((w) => [
          t.label,
          w.rank,
          w.activation,
          w.ce,
          w.source.file,
          w.source.byteOffset,
          w.source.token,
          w.text,
          idsCell(w.ids),
          w.activations ? w.activations.join(' ') : null,
        ]),
      ),
    ),
    'feature_seed_frontiers.csv': csv(
      ['target', 'seed', 'lambda', 'f', 'ce', 'perplexity', 'text', 'ids'],
      T.flatMap((t) => t.feature.seedFrontiers.flatMap((s) => s.points.map((r) => [t.label, s.seed, r.lambda, r.f, r.ce, r.perplexity, r.text, idsCell(r.ids)]))),
    ),
    'feature_growth.csv': csv(
      ['target', 'seed', 'iterations', 'of_iterations', 'lambda', 'f', 'ce'],
      T.flatMap((t) => {
        const g = t.feature.growth;
        return g ? g.steps.flatMap((st) => st.points.map((p) => [t.label, g.seed, st.iterations, g.iterations, p.lambda, p.f, p.ce])) : [];
      }),
    ),
    'feature_histogram.csv': csv(
      ['target', 'lo', 'hi', 'count'],
      T.flatMap((t) => {
        const h = t.feature.dataset?.histogram;
        if (!h) return [];
        const neg = h.buckets.filter((b) => b.hi <= 0);
        const pos = h.buckets.filter((b) => b.lo > 0);
        return [...neg, { lo: -h.zeroBelow, hi: h.zeroBelow, count: h.zero }, ...pos].map((b) => [t.label, b.lo, b.hi, b.count]);
      }),
    ),
  };
}
