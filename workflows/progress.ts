// What the sweep workflow answers and returns (types only, shared by the current and the legacy workflow).
import type { Failure } from './failures.js';

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
  failures?: Failure[];
}

export interface SweepOutcome {
  sweepId: string;
  total: number;
  ran: number;
  cached: number;
}
