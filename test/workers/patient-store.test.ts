// Outages of the artifact store are waited out (with what is waited for reported), permanent errors are
// not, and the wait is bounded. The store underneath is a local store whose calls fail on cue.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { openStore, type ArtifactStore } from '../../core/store/index.js';
import { outageReason, patientStore } from '../../workers/patient-store.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });

/** A real local store whose next `failures` calls throw `error()` first. */
function flaky(failures: number, error: () => Error): { store: ArtifactStore; calls: () => number } {
  const inner = openStore(mkdtempSync(path.join(tmpdir(), 'patient-')));
  let calls = 0;
  const wrap =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      calls++;
      if (failures-- > 0) throw error();
      return f(...a);
    };
  return {
    store: {
      ...inner,
      uri: inner.uri,
      get: wrap(inner.get.bind(inner)),
      put: wrap(inner.put.bind(inner)),
      exists: wrap(inner.exists.bind(inner)),
      list: wrap(inner.list.bind(inner)),
      delete: wrap(inner.delete.bind(inner)),
      openRead: wrap(inner.openRead.bind(inner)),
      putFile: wrap(inner.putFile.bind(inner)),
    },
    calls: () => calls,
  };
}

const noSleep = async () => {};

describe('patientStore', () => {
  it('classifies outages and permanent errors', () => {
    expect(outageReason(refused())).toBe('ECONNREFUSED');
    expect(outageReason(new Error('wrapped', { cause: refused() }))).toBe('ECONNREFUSED');
    expect(outageReason(Object.assign(new Error('x'), { name: 'ServiceUnavailable' }))).toBe('ServiceUnavailable');
    expect(outageReason(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }))).toBe('HTTP 503');
    expect(outageReason(new UserError('E_STORE_ACCESS', 'bad secret', { cause: refused() }))).toBeUndefined();
    expect(outageReason(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 403 } }))).toBeUndefined();
    expect(outageReason(new TypeError('a bug'))).toBeUndefined();
  });

  it('waits out an outage, saying what it waits for, and then succeeds', async () => {
    const { store, calls } = flaky(3, refused);
    const waits: string[] = [];
    let recovered = 0;
    const patient = patientStore(store, { deadlineMs: 60_000, sleep: noSleep, onWait: (w, first) => first && waits.push(w), onRecovered: () => recovered++ });
    await patient.put('a.json', '{}');
    expect(calls()).toBe(4);
    expect(recovered).toBe(1);
    expect(waits).toHaveLength(3);
    expect(waits[0]).toMatch(/^the store file:\/\/.* \(ECONNREFUSED\), for \d+s of at most 60s$/);
    expect(Buffer.from((await patient.get('a.json'))!).toString()).toBe('{}');
  });

  it('throws a permanent error at once', async () => {
    const { store, calls } = flaky(1, () => new UserError('E_STORE_ACCESS', 'SignatureDoesNotMatch'));
    await expect(patientStore(store, { deadlineMs: 60_000, sleep: noSleep }).exists('a')).rejects.toMatchObject({ code: 'E_STORE_ACCESS' });
    expect(calls()).toBe(1);
  });

  it('gives up after its deadline with the outage error, for a store that answered before', async () => {
    const { store } = flaky(1_000, refused);
    const answeredOnce = { ...store, get: () => Promise.resolve(undefined) };
    const patient = patientStore(answeredOnce, { deadlineMs: 0, sleep: noSleep });
    await patient.get('a');
    await expect(patient.list('')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a store that refuses every connection and never answered is a wrong address: E_STORE_UNREACHABLE after a short grace', async () => {
    const { store, calls } = flaky(1_000, refused);
    const clock = fakeClock();
    const patient = patientStore(store, { deadlineMs: 600_000, neverAnsweredWaitMs: 30_000, ...clock });
    const err = await patient.put('a.json', '{}').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('E_STORE_UNREACHABLE');
    expect((err as Error).message).toMatch(/refused every connection for \d+s \(ECONNREFUSED\) and has not answered this worker once/);
    expect(clock.now()).toBeLessThanOrEqual(30_000);
    expect(calls()).toBeGreaterThan(1);
  });

  it('the same refusals after the store answered once are an outage, waited out to the deadline', async () => {
    let refusing = false;
    const { store } = flaky(0, refused);
    const flip = { ...store, put: (k: string, b: string) => (refusing ? Promise.reject(refused()) : store.put(k, b)) };
    const clock = fakeClock();
    const patient = patientStore(flip, { deadlineMs: 120_000, neverAnsweredWaitMs: 30_000, ...clock });
    await patient.put('a.json', '{}');
    refusing = true;
    await expect(patient.put('a.json', '{}')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(clock.now()).toBeGreaterThan(60_000);
  });

  it('a call that hangs is reported as waited for while it hangs, then as recovered', async () => {
    const { store } = flaky(0, refused);
    const slow = { ...store, get: (k: string) => new Promise<Uint8Array | undefined>((r) => setTimeout(() => r(store.get(k)), 300)) };
    const waits: string[] = [];
    let recovered = 0;
    const patient = patientStore(slow, { deadlineMs: 60_000, slowAfterMs: 50, onWait: (w) => waits.push(w), onRecovered: () => recovered++ });
    await patient.get('a');
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]).toMatch(/^the store file:\/\/.* \(a call unfinished after \d+s\)$/);
    expect(recovered).toBe(1);
  });
});

/** A clock that only `sleep` moves. */
function fakeClock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}
