// buildReportInThread: the report unit's files built in a worker thread are the very bytes the same steps
// give on the calling thread; the thread's errors come back as the caller would have seen them (a store's
// own error object, a UserError with its code), and its store calls run in the caller's async context.
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../../core/errors.js';
import { parseModelConfig } from '../../../core/model/families/index.js';
import { readTokenizer } from '../../../core/model/load.js';
import { aggregateSweep } from '../../../core/report/aggregate.js';
import { attributeBestPrompts } from '../../../core/report/attribution.js';
import { buildReport } from '../../../core/report/index.js';
import { buildReportInThread } from '../../../core/report/thread.js';
import type { ArtifactStore } from '../../../core/store/index.js';
import { fakeEngine } from '../../helpers/fake-engine.js';
import { buildFixture } from './fixture.js';

// The thread reads its tokenizer from the model directory; the engine here has the same one.
const MODEL = path.resolve('test/fixtures/models/tiny-parallel');
const tokenizer = readTokenizer(MODEL, parseModelConfig(JSON.parse(readFileSync(path.join(MODEL, 'config.json'), 'utf8')), 'config.json'));
const engine = () => ({ ...fakeEngine({ vocab: tokenizer.vocabSize, seqLen: 6, seed: 3 }), tokenizer });

describe('buildReportInThread', () => {
  it('gives the files the calling thread gives, byte for byte, attribution included', async () => {
    const fx = await buildFixture();
    const data = await aggregateSweep(fx.store, fx.plan, { decode: (ids) => tokenizer.decode(ids) });
    const attribution = await attributeBestPrompts(engine(), fx.store, data);
    const here = await buildReport(data, attribution);
    const progress: Array<{ done: number; of: number }> = [];
    const there = await buildReportInThread(fx.store, engine(), { plan: fx.plan, modelDir: MODEL }, { onProgress: (p) => progress.push(p) });
    expect(attribution.length).toBeGreaterThan(0);
    expect(Object.keys(there.files)).toEqual(Object.keys(here));
    for (const [name, body] of Object.entries(here)) expect(Buffer.compare(Buffer.from(there.files[name]!), Buffer.from(body)), name).toBe(0);
    expect(there.missing).toBe(data.missing.length);
    expect(progress.at(-1)).toEqual({ done: attribution.length, of: attribution.length });
  });

  it("rethrows a store's own error object, and makes its calls in the caller's async context", async () => {
    const fx = await buildFixture();
    const als = new AsyncLocalStorage<string>();
    const seen = new Set<string | undefined>();
    const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    let calls = 0;
    const store: ArtifactStore = {
      uri: fx.store.uri,
      put: (key, body) => fx.store.put(key, body),
      list: (prefix) => fx.store.list(prefix),
      delete: (key) => fx.store.delete(key),
      openRead: (key) => fx.store.openRead(key),
      putFile: (key, file) => fx.store.putFile(key, file),
      exists: (key) => (seen.add(als.getStore()), fx.store.exists(key)),
      get: async (key) => {
        seen.add(als.getStore());
        if (++calls > 3) throw outage;
        return fx.store.get(key);
      },
    };
    const failure = await als.run('activity', () => buildReportInThread(store, engine(), { plan: fx.plan, modelDir: MODEL })).catch((e: unknown) => e);
    expect(failure).toBe(outage);
    expect([...seen]).toEqual(['activity']);
  });

  it('turns a damaged artifact into the UserError the report gives, with its code', async () => {
    const fx = await buildFixture();
    const random = fx.plan.units.find((u) => u.kind === 'random')!;
    await fx.store.put(`${random.key}/random.json`, '{ not json');
    const failure = await buildReportInThread(fx.store, engine(), { plan: fx.plan, modelDir: MODEL }).catch((e: unknown) => e);
    expect(isUserError(failure) && failure.code).toBe('E_REPORT_INPUT');
    expect((failure as Error).message).toContain('random.json: not valid JSON');
  });

  it('stops when its signal aborts, with the reason', async () => {
    const fx = await buildFixture();
    const ac = new AbortController();
    const reason = new Error('cancelled');
    const p = buildReportInThread(fx.store, engine(), { plan: fx.plan, modelDir: MODEL }, { signal: ac.signal });
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
  });
});
