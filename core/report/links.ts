// The report page's cross references: the id of each table row a figure's point links to (charts.ts draws
// the links, render.ts gives the rows these ids), and the control-character escaping every shown text uses.
import type { ResidMethod } from './types.js';

/** Row ids start with `row-` so the SVG id prefixing (renderSvg) leaves links to them alone. */
export const ROW_PREFIX = 'row-';

export const rowIds = {
  best: (layer: number, vector: number, method: ResidMethod) => `${ROW_PREFIX}best-L${layer}-v${vector}-${method}`,
  frontier: (layer: number, vector: number, i: number) => `${ROW_PREFIX}frontier-L${layer}-v${vector}-${i}`,
  /** Targets by their index in ReportData.targets (labels may hold any character). */
  targetBest: (t: number) => `${ROW_PREFIX}target-${t}-best`,
  targetFrontier: (t: number, i: number) => `${ROW_PREFIX}target-${t}-${i}`,
  summary: (layer: number) => `${ROW_PREFIX}summary-L${layer}`,
  slack: (layer: number | 'all') => `${ROW_PREFIX}slack-${layer === 'all' ? 'all' : `L${layer}`}`,
  /** A neuron/logit/SAE target's section (by its index in ReportData.targets), linked from the index of targets. */
  feature: (t: number) => `feature-${t}`,
};

// C0 controls but tab, LF and CR, DEL and the C1 range: not allowed raw in HTML (decoded byte-level tokens
// hold them); shown as \xNN so the page stays valid text and the prompt stays readable.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

export function escapeControls(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Text for HTML: the five special characters as entities, controls as \xNN. */
export function esc(s: string): string {
  return escapeControls(s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!));
}
