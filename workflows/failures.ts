// Failures the sweep workflow tells apart, and how it summarises them by kind. Plain code, no imports:
// workflow code and activities both import this.

/**
 * A unit stopped because its worker shut down (scale-down, drain, upgrade): not the unit's fault. The
 * activity fails with this type, non-retryable, and the workflow schedules the unit afresh, so a
 * scale-down never uses up one of the unit's retry attempts; the new run resumes from the checkpoint.
 */
export const WORKER_SHUTDOWN = 'WorkerShutdown';

/** A unit moves off a shutting-down worker at most this often; past that, something else is wrong. */
export const MAX_MOVES = 100;

/** Why a unit whose dependency failed never ran (the scan merge after a shard, the report after anything). */
export const SKIPPED_FAILED_DEPENDENCY = 'skipped: depends on a failed unit';

/** Failed units of one kind: the message with numbers and quoted parts taken out. */
export interface Failure {
  reason: string;
  count: number;
  /** The first unit's message, as it was (cut at MAX_MESSAGE). */
  example: string;
  /** Ids of the first MAX_FAILURE_UNITS units that failed so (absent from state carried by older runs). */
  units?: string[];
}

// Kinds kept with an example and a few unit ids each; past that, one last kind gathers the rest.
export const MAX_FAILURE_KINDS = 50;
export const MAX_FAILURE_UNITS = 5;
const MAX_MESSAGE = 2_000;
const OTHER_KINDS = '(other kinds)';

/** Counts a failed unit under its kind: the workflow's failure summary, bounded at any sweep size. */
export function recordFailure(failures: Failure[], message: string, unit: string): void {
  const example = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}...` : message;
  const reason = example.replace(/"[^"]*"|'[^']*'|\b[\w./-]*\d[\w./-]*\b/g, '_').slice(0, 200);
  let f = failures.find((x) => x.reason === reason);
  if (!f && failures.length < MAX_FAILURE_KINDS - 1) failures.push((f = { reason, count: 0, example, units: [] }));
  if (!f) {
    f = failures.find((x) => x.reason === OTHER_KINDS);
    const other = `failures of more than ${MAX_FAILURE_KINDS - 1} kinds; the first of the rest: ${example}`;
    if (!f) failures.push((f = { reason: OTHER_KINDS, count: 0, example: other, units: [] }));
  }
  f.count++;
  const units = (f.units ??= []);
  if (units.length < MAX_FAILURE_UNITS) units.push(unit);
}

/** `a, b, c` or `a, b, c and 7 more`: the units of a failure kind. */
export function unitList(f: { count: number; units?: string[] }): string {
  const ids = f.units ?? [];
  return `${ids.join(', ')}${f.count > ids.length ? ` and ${f.count - ids.length} more` : ''}`;
}
