// What the sweep workflow answers and returns (shared by the current and the legacy workflow, and the CLI).

export interface GroupProgress {
  method: string;
  layer?: number;
  total: number;
  done: number;
  running: number;
  failed: number;
}

export interface SweepProgress {
  sweepId?: string;
  status: 'planning' | 'running' | 'cancelling' | 'done' | 'failed';
  total: number;
  done: number;
  running: number;
  failed: number;
  /** Units run to completion by this sweep, and units found already finished in the store. */
  ran: number;
  cached: number;
  groups: GroupProgress[];
  /** Failure messages by kind (the message with unit ids taken out), at most a few dozen kinds, each with the ids of its first few units. */
  failures?: Array<{ reason: string; count: number; example: string; units?: string[] }>;
}

export interface SweepOutcome {
  sweepId: string;
  total: number;
  ran: number;
  cached: number;
}

/** `a, b, c` or `a, b, c and 7 more`: the units of a failure kind. */
export function unitList(f: { count: number; units?: string[] }): string {
  const ids = f.units ?? [];
  return `${ids.join(', ')}${f.count > ids.length ? ` and ${f.count - ids.length} more` : ''}`;
}
