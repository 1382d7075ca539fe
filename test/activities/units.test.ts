// The activities as a worker hosts them, run in Temporal's activity test environment against a local
// store and the tiny fixture model: a long-lived worker serving two launches, and token targets by id.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities, type PlanSummary, type UnitInput, type UnitResult } from '../../activities/index.js';
import { openStore } from '../../core/store/index.js';
import { parseSweep, type SweepSpec } from '../../core/sweep/spec.js';
import { resultKey, type SweepPlan } from '../../core/sweep/plan.js';
import { reportKey, unitFileKey } from '../../core/sweep/layout.js';
import type { ScanResult } from '../../core/corpus/result.js';
import { readPlan } from '../../core/sweep/plans.js';
import { createModelCache } from '../../workers/model-cache.js';

const MODEL = path.resolve('test/fixtures/models/tiny-parallel');
const models = createModelCache({ backend: 'cpu' });

function sweepFile(dir: string, body: string): SweepSpec {
  const file = path.join(dir, 'sweep.yaml');
  writeFileSync(file, body);
  return parseSweep(body, file);
}

const EPO = `
  epo: { runsPerVector: 1, iters: 2, population: 2, children: 4, topk: 8, batchSize: 8, checkpointEvery: 1 }`;

/** One worker's activities (one process: its memos live as long as the worker). */
function worker(storeDir: string) {
  const acts = createActivities({ store: () => openStore(storeDir), models, workerName: 'test-worker' });
  const env = new MockActivityEnvironment();
  return {
    plan: (spec: SweepSpec) => env.run(acts.planSweep, spec) as Promise<PlanSummary>,
    run: (input: UnitInput) => env.run(acts.runUnit, input) as Promise<UnitResult>,
  };
}

/** The plan's units, as the workflow's runUnit calls name them: by index in the stored plan. */
async function unitsOf(storeDir: string, summary: PlanSummary): Promise<SweepPlan['units']> {
  return (await readPlan(openStore(storeDir), summary.planKey)).units;
}

/** What the workflow sends for one unit of a plan. */
function inputOf(plan: PlanSummary, units: SweepPlan['units'], unit: SweepPlan['units'][number], spec: SweepSpec): UnitInput {
  return { sweepId: plan.sweepId, planKey: plan.planKey, unitIndex: units.indexOf(unit), storage: spec.storage };
}

describe('a long-lived worker', () => {
  it('runs the new unit after the inputs change under the same sweep file (no stale plan)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-acts-'));
    const storeDir = path.join(dir, 'store');
    const vectors = path.join(dir, 'vectors.json');
    const vec = (x: number) => JSON.stringify({ 1: [Array.from({ length: 32 }, (_, i) => (i === 0 ? x : 0))] });
    const body = `name: stale
model: { path: ${MODEL}, engine: tfjs }
study: { layers: [1], vectors: { file: ./vectors.json }, seqLen: 4 }
methods:${EPO}
storage: { uri: ./store }
`;
    const w = worker(storeDir);
    const store = openStore(storeDir);

    writeFileSync(vectors, vec(1));
    const spec = sweepFile(dir, body);
    const first = await w.plan(spec);
    const units1 = await unitsOf(storeDir, first);
    const unit1 = units1.find((u) => u.kind === 'epo')!;
    const r1 = await w.run(inputOf(first, units1, unit1, spec));
    expect(r1.cached).toBe(false);

    // Same file, new vector: the same sweep ID, a new plan and a new unit key.
    writeFileSync(vectors, vec(-1));
    const again = sweepFile(dir, body);
    const second = await w.plan(again);
    const units2 = await unitsOf(storeDir, second);
    const unit2 = units2.find((u) => u.kind === 'epo')!;
    expect(second.sweepId).toBe(first.sweepId);
    expect(unit2.key).not.toBe(unit1.key);
    const r2 = await w.run(inputOf(second, units2, unit2, again));
    expect(r2.cached).toBe(false);
    expect(await store.exists(resultKey(unit2))).toBe(true);
  });
});

describe('token targets', () => {
  it('accepts #<id> in a sweep, as the docs and the schema do', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-acts-'));
    const body = `name: token-id
model: { path: ${MODEL}, engine: tfjs }
study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 4 }
methods:${EPO}
targets: { tokens: [{ token: "#5" }], seeds: [0] }
storage: { uri: ./store }
`;
    const spec = sweepFile(dir, body);
    const w = worker(path.join(dir, 'store'));
    const plan = await w.plan(spec);
    const units = await unitsOf(path.join(dir, 'store'), plan);
    const unit = units.find((u) => u.method === 'logit')!;
    const r = await w.run(inputOf(plan, units, unit, spec));
    expect(r.cached).toBe(false);
    const result = JSON.parse(Buffer.from((await openStore(path.join(dir, 'store')).get(resultKey(unit)))!).toString('utf8'));
    expect(result.producer.info.objective).toEqual({ kind: 'logit', token: 5 });
  });
});

describe('SAE targets', () => {
  it('plans, runs and reports an SAE latent (Gemma Scope params.npz on tiny-gemma2)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-acts-'));
    const npz = path.resolve('test/fixtures/saes/gemma-scope-tiny-gemma2-resid_post.1/params.npz');
    const body = `name: sae-latent
model: { path: ${path.resolve('test/fixtures/models/tiny-gemma2')}, engine: tfjs }
study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 4 }
methods:${EPO}
targets: { saes: [{ path: ${npz}, site: resid_post, layer: 1, latents: [7] }], seeds: [0] }
storage: { uri: ./store }
`;
    const spec = sweepFile(dir, body);
    const w = worker(path.join(dir, 'store'));
    const plan = await w.plan(spec);
    const units = await unitsOf(path.join(dir, 'store'), plan);
    const unit = units.find((u) => u.method === 'sae')!;
    expect(unit.id).toBe('sae/gemma-scope-tiny-gemma2-resid_post.1/params.npz@resid_post.1#7/s0');
    expect((await w.run(inputOf(plan, units, unit, spec))).cached).toBe(false);
    const store = openStore(path.join(dir, 'store'));
    const result = JSON.parse(Buffer.from((await store.get(resultKey(unit)))!).toString('utf8'));
    expect(result.producer.info.objective).toMatchObject({ kind: 'sae', tap: 'resid_post.1', latent: 7, dSae: 32, activation: { kind: 'jumprelu' } });
    const report = units.find((u) => u.kind === 'report')!;
    await w.run(inputOf(plan, units, report, spec));
    const json = JSON.parse(Buffer.from((await store.get(reportKey(plan.sweepId, 'report.json')))!).toString('utf8'));
    expect(json.targets.map((t: { label: string; method: string }) => [t.label, t.method])).toEqual([
      ['sae gemma-scope-tiny-gemma2-resid_post.1/params.npz at resid_post.1 #7', 'sae'],
    ]);
  });
});

describe('scan units with neuron, logit and SAE targets', () => {
  it('scan the corpus for every target of the sweep, in plan order, and merge their shards', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-acts-'));
    const npz = path.resolve('test/fixtures/saes/gemma-scope-tiny-gemma2-resid_post.1/params.npz');
    const body = `name: scan-features
model: { path: ${path.resolve('test/fixtures/models/tiny-gemma2')}, engine: tfjs }
study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 5 }
methods:${EPO}
  scan: { corpus: ${path.resolve('test/fixtures/corpus/smoke.jsonl')}, tokens: 1M, shards: 2, top: 3 }
targets: { neurons: [{ layer: 1, index: 2 }], tokens: [" the"], saes: [{ path: ${npz}, site: resid_post, layer: 1, latents: [7] }], seeds: [0] }
storage: { uri: ./store }
`;
    const spec = sweepFile(dir, body);
    const w = worker(path.join(dir, 'store'));
    const plan = await w.plan(spec);
    const units = await unitsOf(path.join(dir, 'store'), plan);
    const store = openStore(path.join(dir, 'store'));
    const read = async (u: SweepPlan['units'][number]) => JSON.parse(Buffer.from((await store.get(unitFileKey(u, 'scan')))!).toString('utf8')) as ScanResult;
    const scanUnits = units.filter((u) => u.method === 'scan');
    expect(scanUnits.map((u) => u.id)).toEqual(['scan/shard-1-of-2', 'scan/shard-2-of-2', 'scan/merge']);
    for (const u of scanUnits) expect((await w.run(inputOf(plan, units, u, spec))).cached).toBe(false);
    const [a, b, merged] = await Promise.all(scanUnits.map(read));
    expect(merged!.features.map((f) => [f.kind, f.label])).toEqual([
      ['neuron', 'neuron L1.N2'],
      ['logit', 'logit " the"'],
      ['sae', 'sae gemma-scope-tiny-gemma2-resid_post.1/params.npz at resid_post.1 #7'],
    ]);
    merged!.features.forEach((f, i) => {
      expect(f.count + f.excluded).toBe(merged!.windows);
      expect(f.count).toBe(a!.features[i]!.count + b!.features[i]!.count);
      expect(f.top).toHaveLength(3);
      for (const e of f.top) expect(e.activations).toHaveLength(5);
    });
    expect(merged!.features[1]!.excluded).toBeGreaterThan(0); // " the" bans windows holding "the"
  });
});

describe('a sweep of targets alone (no residual study)', () => {
  it('plans no random or residual units, scans only the features, runs EPO and reports only the targets', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-acts-'));
    const body = `name: targets-only
model: { path: ${MODEL}, engine: tfjs }
study: { seqLen: 5 }
methods:${EPO}
  scan: { corpus: ${path.resolve('test/fixtures/corpus/smoke.jsonl')}, tokens: 1M, shards: 2, top: 3 }
targets: { neurons: [{ layer: 1, index: 3 }], tokens: [" model"], seeds: 0..1 }
storage: { uri: ./store }
`;
    const spec = sweepFile(dir, body);
    expect(spec.study).toEqual({ seqLen: 5 });
    const storeDir = path.join(dir, 'store');
    const w = worker(storeDir);
    const plan = await w.plan(spec);
    const units = await unitsOf(storeDir, plan);
    expect(units.map((u) => u.id)).toEqual([
      'scan/shard-1-of-2',
      'scan/shard-2-of-2',
      'scan/merge',
      'neuron/L1.N3/s0',
      'neuron/L1.N3/s1',
      'logit/" model"/s0',
      'logit/" model"/s1',
      'report',
    ]);
    for (const u of units) expect((await w.run(inputOf(plan, units, u, spec))).cached).toBe(false);

    const store = openStore(storeDir);
    const merged = JSON.parse(Buffer.from((await store.get(unitFileKey(units[2]!, 'scan')))!).toString('utf8')) as ScanResult;
    expect(merged.pairs).toEqual([]);
    expect(merged.config.targets).toEqual([]);
    expect(merged.features.map((f) => f.label)).toEqual(['neuron L1.N3', 'logit " model"']);
    for (const f of merged.features) for (const e of f.top) expect(e.activations).toHaveLength(5);

    const json = JSON.parse(Buffer.from((await store.get(reportKey(plan.sweepId, 'report.json')))!).toString('utf8'));
    expect(json.settings).toMatchObject({ layers: [], seqLen: 5 });
    expect(json.pairs).toEqual([]);
    expect(json.units).toMatchObject({ planned: 7, finished: 7 });
    expect(json.targets.map((t: { label: string; seeds: unknown }) => [t.label, t.seeds])).toEqual([
      ['neuron L1.N3', { planned: 2, finished: 2 }],
      ['logit " model"', { planned: 2, finished: 2 }],
    ]);
    // Each target carries its study beside the scan's examples of it (paper Figs. 2, 3).
    for (const t of json.targets) {
      expect(t.feature.dataset.top).toHaveLength(3);
      expect(t.feature.seedFrontiers.map((f: { seed: number }) => f.seed)).toEqual([0, 1]);
    }
    const html = Buffer.from((await store.get(reportKey(plan.sweepId, 'report.html')))!).toString('utf8');
    expect(html).not.toMatch(/Summary by layer|Best prompt per vector|paper Fig\. 5[bcde]|no random baseline/);
    expect(html).toContain('Per-target studies');
    expect(html).toContain('paper Fig. 5a');
    expect(html).toContain('no residual study');
  });
});
