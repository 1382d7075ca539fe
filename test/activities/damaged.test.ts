// A relaunch (resume) checks what it reuses: a truncated result.json is not counted as done but redone (to the
// same bytes), and a truncated plan or vector set under its content key is written again, not trusted.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities, type PlanSummary, type UnitInput, type UnitResult } from '../../activities/index.js';
import { openStore } from '../../core/store/index.js';
import { unitFileKey } from '../../core/sweep/layout.js';
import { resultKey } from '../../core/sweep/plan.js';
import { readPlan } from '../../core/sweep/plans.js';
import { parseSweep } from '../../core/sweep/spec.js';
import { createModelCache } from '../../workers/model-cache.js';

const MODEL = path.resolve('test/fixtures/models/tiny-parallel');

describe('a relaunch over damaged artifacts', () => {
  it('redoes a unit whose result.json is truncated, and rewrites a truncated plan and vector set', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-damaged-'));
    const storeDir = path.join(dir, 'store');
    const body = `name: damaged
model: { path: ${MODEL}, engine: tfjs }
study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 4 }
methods:
  random: { prompts: 8, seed: 0, batchSize: 8 }
storage: { uri: ./store }
`;
    const file = path.join(dir, 'sweep.yaml');
    writeFileSync(file, body);
    const spec = parseSweep(body, file);
    const acts = createActivities({ store: () => openStore(storeDir), models: createModelCache({ backend: 'cpu' }), workerName: 'test' });
    const env = new MockActivityEnvironment();
    const plan = () => env.run(acts.planSweep, spec) as Promise<PlanSummary>;
    const run = (input: UnitInput) => env.run(acts.runUnit, input) as Promise<UnitResult>;
    const store = openStore(storeDir);

    const first = await plan();
    const { units, vectorsKey } = await readPlan(store, first.planKey);
    const i = units.findIndex((u) => u.kind === 'random');
    const input = { sweepId: first.sweepId, planKey: first.planKey, unitIndex: i, storage: spec.storage };
    expect((await run(input)).cached).toBe(false);
    const good = Buffer.from((await store.get(resultKey(units[i]!)))!);

    // Truncated: the result, the plan, the vector set.
    await store.put(resultKey(units[i]!), good.subarray(0, good.length >> 1));
    const planBytes = Buffer.from((await store.get(first.planKey))!);
    await store.put(first.planKey, planBytes.subarray(0, 100));
    const vectorBytes = Buffer.from((await store.get(vectorsKey))!);
    await store.put(vectorsKey, vectorBytes.subarray(0, 10));
    const plans = await readPlan(store, first.planKey).catch((e: unknown) => e);
    expect(plans).toMatchObject({ code: 'E_SWEEP_PLAN' });

    const again = await plan();
    expect(again.planKey).toBe(first.planKey);
    expect(Buffer.from((await store.get(first.planKey))!).equals(planBytes)).toBe(true);
    expect(Buffer.from((await store.get(vectorsKey))!).equals(vectorBytes)).toBe(true);
    const group = again.groups.find((g) => g.method === 'random')!;
    expect(group.done).toBe(0);

    const redo = await run({ ...input, planKey: again.planKey });
    expect(redo).toMatchObject({ cached: false });
    expect(redo).not.toHaveProperty('recovered');
    expect(Buffer.from((await store.get(resultKey(units[i]!)))!).equals(good)).toBe(true);
  }, 60_000);

  it('drops a damaged EPO checkpoint and runs the unit afresh (a checkpoint is a cache)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-damaged-ck-'));
    const storeDir = path.join(dir, 'store');
    const body = `name: damaged-ck
model: { path: ${MODEL}, engine: tfjs }
study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 4 }
methods:
  epo: { runsPerVector: 1, iters: 2, population: 2, children: 4, topk: 8, batchSize: 8, checkpointEvery: 1 }
storage: { uri: ./store }
`;
    const file = path.join(dir, 'sweep.yaml');
    writeFileSync(file, body);
    const spec = parseSweep(body, file);
    const acts = createActivities({ store: () => openStore(storeDir), models: createModelCache({ backend: 'cpu' }), workerName: 'test' });
    const env = new MockActivityEnvironment();
    const store = openStore(storeDir);
    const summary = (await env.run(acts.planSweep, spec)) as PlanSummary;
    const { units } = await readPlan(store, summary.planKey);
    const i = units.findIndex((u) => u.kind === 'epo');
    await store.put(unitFileKey(units[i]!, 'epoCheckpoint'), 'not a checkpoint');
    const r = (await env.run(acts.runUnit, { sweepId: summary.sweepId, planKey: summary.planKey, unitIndex: i, storage: spec.storage })) as UnitResult;
    expect(r.cached).toBe(false);
    expect(await store.exists(resultKey(units[i]!))).toBe(true);
  }, 60_000);

  it('a scan whose corpus has no window of seqLen tokens is refused like `dreamsweep scan` (E_CORPUS_EMPTY), not a 0-window baseline', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-empty-scan-'));
    const storeDir = path.join(dir, 'store');
    writeFileSync(path.join(dir, 'c.jsonl'), `${JSON.stringify({ text: 'hi' })}\n${JSON.stringify({ text: 'ok' })}\n`);
    const body = `name: empty-scan
model: { path: ${MODEL}, engine: tfjs }
study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 8 }
methods:
  scan: { corpus: c.jsonl, tokens: 1000, shards: 2, top: 2 }
storage: { uri: ./store }
`;
    const file = path.join(dir, 'sweep.yaml');
    writeFileSync(file, body);
    const spec = parseSweep(body, file);
    const acts = createActivities({ store: () => openStore(storeDir), models: createModelCache({ backend: 'cpu' }), workerName: 'test' });
    const env = new MockActivityEnvironment();
    const store = openStore(storeDir);
    const summary = (await env.run(acts.planSweep, spec)) as PlanSummary;
    const { units } = await readPlan(store, summary.planKey);
    const input = (u: (typeof units)[number]) => ({ sweepId: summary.sweepId, planKey: summary.planKey, unitIndex: units.indexOf(u), storage: spec.storage });
    for (const u of units.filter((u) => u.kind === 'scan-shard')) await env.run(acts.runUnit, input(u));
    const merge = units.find((u) => u.kind === 'scan-merge')!;
    const err = await env.run(acts.runUnit, input(merge)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_CORPUS_EMPTY' });
    expect((err as Error).message).toMatch(/2 document\(s\), none with at least seqLen = 8 tokens/);
  }, 60_000);
});
