// The baseline units: the random-prompt baseline of one layer, a corpus scan shard (heartbeat per batch,
// checkpoint to the store, resume on retry) and the merge of all shards into the study's scan result.
import { statSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { randomBaseline } from '../core/baselines/random.js';
import type { ScanCheckpoint, ScanResult, ScanTarget } from '../core/corpus/result.js';
import type { Shard } from '../core/corpus/read.js';
import { mergeScanResults, scanCorpus } from '../core/corpus/scan.js';
import { isRemote, openBySkipping, resolveShards, type CorpusStore } from '../core/corpus/source.js';
import { listUri, openUri, type ArtifactStore } from '../core/store/index.js';
import { resultKey, unitFileKey, type UnitFile } from '../core/sweep/layout.js';
import { randomTopK, type SweepPlan, type UnitSpec } from '../core/sweep/plan.js';
import { UserError } from '../core/errors.js';
import { studyLayers } from '../core/sweep/spec.js';
import { featureOf, featureTargets } from '../core/objectives/kinds/index.js';
import { resolveTarget } from '../core/objectives/target.js';
import { heartbeatWhile, jsonBytes, loadVectors, type ActivityDeps, type StorageSpec } from './context.js';

type PlannedUnit<K extends UnitSpec['kind']> = SweepPlan['units'][number] & { spec: Extract<UnitSpec, { kind: K }> };

export interface BaselineUnitResult {
  kind: 'random' | 'scan-shard' | 'scan-merge';
  pairs: number;
  features?: number;
  windows?: number;
  tokens?: number;
}

async function targetsOf(store: ArtifactStore, plan: SweepPlan, layers: number[]): Promise<ScanTarget[]> {
  const all = await loadVectors(store, plan);
  return layers.map((layer) => ({ layer, vectors: all.get(layer)! }));
}

async function finish(
  store: ArtifactStore,
  unit: { id: string; key: string },
  file: UnitFile,
  payload: unknown,
  summary: BaselineUnitResult,
  plan: SweepPlan,
): Promise<BaselineUnitResult> {
  await store.put(unitFileKey(unit, file), jsonBytes(payload), { contentType: 'application/json' });
  // Written last: its presence marks the unit finished.
  await store.put(resultKey(unit), jsonBytes({ unit: unit.id, ...summary, producer: { modelId: plan.modelId } }));
  return summary;
}

export async function runRandomUnit(deps: ActivityDeps, store: ArtifactStore, plan: SweepPlan, unit: PlannedUnit<'random'>): Promise<BaselineUnitResult> {
  const ctx = Context.current();
  const engine = await heartbeatWhile(deps.models.engine(plan.spec.model, plan.spec.storage), { loading: plan.spec.model.path });
  const method = plan.spec.methods.random!;
  const result = await randomBaseline({
    engine,
    targets: await targetsOf(store, plan, [unit.spec.layer]),
    prompts: method.prompts,
    seqLen: plan.spec.study.seqLen,
    seed: method.seed,
    batchSize: method.batchSize,
    top: randomTopK(plan.spec),
    onProgress: (p) => ctx.heartbeat(p),
    signal: ctx.cancellationSignal,
  });
  return finish(store, unit, 'random', result, { kind: 'random', pairs: result.pairs.length }, plan);
}

/** The corpus store for scans: local paths directly, s3:// through the sweep's storage options. */
function corpusStore(storage: StorageSpec): CorpusStore {
  const opts = { endpoint: storage.endpoint, region: storage.region, forcePathStyle: storage.forcePathStyle };
  return {
    list: (prefix) => listUri(prefix, opts),
    open: openBySkipping(async (uri) => (await openUri(uri, opts)) as unknown as AsyncIterable<Uint8Array>),
  };
}

/**
 * Shard i of S: with at least S files, every S-th file (sorted order); with fewer files, local uncompressed
 * files are cut into S byte ranges. Each shard scans at most tokens / S tokens, so the merged scan covers
 * the same budget however the corpus was cut.
 */
export function shardOf(files: string[], shard: number, shards: number): Shard[] {
  if (files.length >= shards) return files.filter((_, i) => i % shards === shard).map((uri) => ({ uri }));
  const out: Shard[] = [];
  files.forEach((uri, f) => {
    if (isRemote(uri) || uri.endsWith('.zst')) {
      if (f % shards === shard) out.push({ uri });
      return;
    }
    const size = statSync(uri).size;
    const start = Math.floor((size * shard) / shards);
    const end = Math.floor((size * (shard + 1)) / shards);
    if (end > start) out.push({ uri, start, end });
  });
  return out;
}

export async function runScanShard(deps: ActivityDeps, store: ArtifactStore, plan: SweepPlan, unit: PlannedUnit<'scan-shard'>): Promise<BaselineUnitResult> {
  const ctx = Context.current();
  const engine = await heartbeatWhile(deps.models.engine(plan.spec.model, plan.spec.storage), { loading: plan.spec.model.path });
  const scan = plan.spec.methods.scan!;
  const remote = corpusStore(plan.spec.storage);
  const shards = shardOf(await resolveShards(scan.corpus, remote), unit.spec.shard, unit.spec.shards);
  const ckKey = unitFileKey(unit, 'scanCheckpoint');
  const ckBytes = await store.get(ckKey);
  const resume = ckBytes ? (JSON.parse(Buffer.from(ckBytes).toString('utf8')) as ScanCheckpoint) : undefined;
  // The sweep's neuron, logit and SAE targets, in plan order, resolved as their EPO units resolve them.
  const features = featureTargets(plan.spec).map((t) => featureOf(t, resolveTarget(t, engine.tokenizer, undefined, plan.spec.source, engine.shape.dVocab, engine.shape)));
  const result = await scanCorpus({
    shards,
    tokenizer: engine.tokenizer,
    evaluate: (ids, names, o) => engine.taps(ids, names, o),
    targets: await targetsOf(store, plan, studyLayers(plan.spec)),
    features,
    engine,
    n: plan.spec.study.seqLen,
    stride: scan.stride,
    k: scan.top,
    batchSize: scan.batchSize,
    tokenBudget: Math.floor(scan.tokens / unit.spec.shards),
    textField: scan.textField,
    skipBad: scan.skipBad,
    store: remote,
    resume,
    checkpointEvery: 20,
    onCheckpoint: async (ck) => {
      await store.put(ckKey, JSON.stringify(ck));
      deps.metrics?.checkpointed(unit.id);
    },
    onEvent: (e) => ctx.heartbeat({ windows: e.windows, tokens: e.tokens }),
    signal: ctx.cancellationSignal,
    allowEmpty: true,
  });
  return finish(
    store,
    unit,
    'scan',
    result,
    { kind: 'scan-shard', pairs: result.pairs.length, features: result.features.length, windows: result.windows, tokens: result.tokens },
    plan,
  );
}

export async function runScanMerge(store: ArtifactStore, plan: SweepPlan, unit: PlannedUnit<'scan-merge'>): Promise<BaselineUnitResult> {
  const shardUnits = plan.units.filter((u) => u.kind === 'scan-shard');
  const parts: ScanResult[] = [];
  for (const u of shardUnits) {
    const bytes = await store.get(unitFileKey(u, 'scan'));
    if (!bytes) throw new Error(`${store.uri}: scan shard ${u.id} has no scan.json; it must finish before the merge`);
    parts.push(JSON.parse(Buffer.from(bytes).toString('utf8')) as ScanResult);
  }
  const merged = mergeScanResults(parts);
  // One rule with `dreamsweep scan`: a corpus without a single window of seqLen tokens is refused, not reported
  // as a baseline of 0 windows (a shard alone may be empty: the rule is for the whole corpus).
  if (merged.windows === 0) {
    const n = plan.spec.study.seqLen;
    const skipped = merged.skipped.count ? ` (${merged.skipped.count} bad lines or files skipped)` : '';
    throw new UserError(
      'E_CORPUS_EMPTY',
      merged.documents === 0
        ? `${plan.spec.source}: methods.scan.corpus: ${merged.shards.length} file(s) hold no documents${skipped}; check the paths and the text field`
        : `${plan.spec.source}: methods.scan.corpus: ${merged.documents} document(s)${skipped}, none with at least seqLen = ${n} tokens; use a shorter seqLen or a larger corpus`,
    );
  }
  return finish(
    store,
    unit,
    'scan',
    merged,
    { kind: 'scan-merge', pairs: merged.pairs.length, features: merged.features.length, windows: merged.windows, tokens: merged.tokens },
    plan,
  );
}
