// A sweep started before plans stayed in the store replays with today's workflow code: its history (made by
// the code of that time, test/fixtures/histories/README.md says how) has no 'plan-in-store' marker, so
// sweep.ts runs the legacy workflow and issues the same commands. Without the patch the replay fails: today's
// code cannot read the old plan summary (every unit listed, no groups or bitsets).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../workers/worker.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/histories/legacy-sweep.json', import.meta.url));

describe('legacy sweep history', () => {
  it('replays with the current workflow code', async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const { History } = proto.temporal.api.history.v1;
    const history = History.fromObject(JSON.parse(readFileSync(FIXTURE, 'utf8')));
    const started = history.events[0]!.workflowExecutionStartedEventAttributes!;
    expect(started.workflowType?.name).toBe('sweepWorkflow');
    // Made before the patch: no marker anywhere in it.
    expect(history.events.some((e) => e.markerRecordedEventAttributes)).toBe(false);
    expect(history.events.at(-1)!.workflowExecutionCompletedEventAttributes).toBeTruthy();
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, 'legacy-sweep');
  }, 120_000);
});
