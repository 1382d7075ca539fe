// The store's layout: every key and file name a sweep reads or writes, spelled here and nowhere else.
// docs/store.md ("What a sweep leaves in the store") shows the tree these functions produce.
//
//   plans/<hash>.json                 an immutable plan, named by the hash of its bytes
//   sweeps/<sweepId>/plan.json        the sweep's latest plan (same bytes), for tools that know only the ID
//   sweeps/<sweepId>/report/<file>    the report unit's files (report.html, report.json, CSVs)
//   vectors/<hash>.json               a vector set, named by the hash of its bytes
//   units/<kind>/<hash>/<file>        a unit's artifacts; result.json, written last, marks it finished

/** A unit's files, by role. */
export const UNIT_FILES = {
  /** Written last: its presence marks the unit finished. */
  result: 'result.json',
  /** Provenance that varies between runs (worker, times, attempts). */
  run: 'run.json',
  /** Which sweep last started the unit: kept beside the result, never in it (a result must not depend on who ran it). */
  writer: 'writer.json',
  history: 'history.safetensors',
  frontier: 'frontier.json',
  epoCheckpoint: 'checkpoint.safetensors',
  random: 'random.json',
  scan: 'scan.json',
  scanCheckpoint: 'checkpoint.json',
} as const;

export type UnitFile = keyof typeof UNIT_FILES;

/** The report's page; the other report files are named by core/report. */
export const REPORT_PAGE = 'report.html';

/** Store prefix of a unit's artifacts. */
export function unitPrefix(kind: string, hash: string): string {
  return `units/${kind}/${hash}`;
}

/** Prefix under which every unit's artifacts lie (for listings). */
export const UNITS_PREFIX = 'units/';

export function unitFileKey(unit: { key: string }, file: UnitFile): string {
  return `${unit.key}/${UNIT_FILES[file]}`;
}

/** `<unit>/result.json`: present once the unit finished. */
export function resultKey(unit: { key: string }): string {
  return unitFileKey(unit, 'result');
}

/** `<unit>/writer.json`: the sweep that last started the unit (its accounting, not its result). */
export function writerKey(unit: { key: string }): string {
  return unitFileKey(unit, 'writer');
}

/** An immutable plan, named by the hash of its bytes. */
export function planKey(hash: string): string {
  return `plans/${hash}.json`;
}

/** The sweep's latest plan (a copy of the immutable one), for `dreamsweep report <sweepId>` and other tools. */
export function sweepPlanKey(sweepId: string): string {
  return `sweeps/${sweepId}/plan.json`;
}

/** A vector set, named by the hash of its bytes. */
export function vectorSetKey(hash: string): string {
  return `vectors/${hash}.json`;
}

/** Where a sweep's report lands, beside its plan. */
export function reportPrefix(sweepId: string): string {
  return `sweeps/${sweepId}/report`;
}

export function reportKey(sweepId: string, file: string): string {
  return `${reportPrefix(sweepId)}/${file}`;
}
