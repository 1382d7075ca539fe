// The workflow's failure summary: units counted by kind, one message and the first few unit ids each,
// bounded in kinds whatever fails.
import { describe, expect, it } from 'vitest';
import { MAX_FAILURE_KINDS, MAX_FAILURE_UNITS, recordFailure, unitList, type Failure } from '../../workflows/failures.js';

describe('failure summary', () => {
  it('groups messages that differ only in numbers, paths and quoted parts, keeping the first message and unit ids', () => {
    const failures: Failure[] = [];
    for (let v = 0; v < 8; v++) recordFailure(failures, `s3://b/run: vector set vectors/${v}abc.json is missing`, `epo/L1/v${v}/s0`);
    recordFailure(failures, 'skipped: depends on a failed unit', 'report');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ count: 8, example: 's3://b/run: vector set vectors/0abc.json is missing' });
    expect(failures[0]!.units).toEqual(['epo/L1/v0/s0', 'epo/L1/v1/s0', 'epo/L1/v2/s0', 'epo/L1/v3/s0', 'epo/L1/v4/s0']);
    expect(failures[0]!.units).toHaveLength(MAX_FAILURE_UNITS);
    expect(unitList(failures[0]!)).toBe('epo/L1/v0/s0, epo/L1/v1/s0, epo/L1/v2/s0, epo/L1/v3/s0, epo/L1/v4/s0 and 3 more');
    expect(unitList(failures[1]!)).toBe('report');
  });

  it('gathers kinds past the cap in one last kind, never in an unrelated one', () => {
    const failures: Failure[] = [];
    const words = (i: number) => [...i.toString(26)].map((c) => String.fromCharCode(97 + parseInt(c, 26))).join('');
    for (let i = 0; i < MAX_FAILURE_KINDS + 10; i++) recordFailure(failures, `failure kind ${words(i)}`, `u${i}`);
    expect(failures).toHaveLength(MAX_FAILURE_KINDS);
    expect(failures.slice(0, -1).every((f) => f.count === 1)).toBe(true);
    const other = failures.at(-1)!;
    expect(other.count).toBe(11);
    expect(other.example).toContain(`failure kind ${words(MAX_FAILURE_KINDS - 1)}`);
    expect(other.units).toEqual([49, 50, 51, 52, 53].map((i) => `u${i}`));
  });

  it('carries on from state an older run carried (no unit ids)', () => {
    const failures: Failure[] = [{ reason: 'boom', count: 2, example: 'boom' }];
    recordFailure(failures, 'boom', 'epo/L0/v1/s0');
    expect(failures).toEqual([{ reason: 'boom', count: 3, example: 'boom', units: ['epo/L0/v1/s0'] }]);
    expect(unitList(failures[0]!)).toBe('epo/L0/v1/s0 and 2 more');
  });
});
