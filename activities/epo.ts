// An EPO unit: runs core epo() for one target and seed, heartbeats every iteration, checkpoints to the
// store every K iterations, and on a retry (another worker, after a crash) resumes from the last checkpoint.
// On cancellation or worker shutdown it checkpoints before giving up, so nothing finished is lost.
import { Context } from '@temporalio/activity';
import { decodeCheckpoint, encodeCheckpoint } from '../core/epo/checkpoint.js';
import { isUserError } from '../core/errors.js';
import { resultConfig } from '../core/epo/config.js';
import { epo, type EpoState } from '../core/epo/epo.js';
import { paretoFrontier } from '../core/epo/frontier.js';
import { encodeHistory } from '../core/epo/history.js';
import { describeObjective } from '../core/objectives/spec.js';
import { kindOf } from '../core/objectives/kinds/index.js';
import { resolveTarget } from '../core/objectives/target.js';
import { epoRunConfig } from '../core/sweep/epo-method.js';
import { resultKey, unitFileKey } from '../core/sweep/layout.js';
import type { PlannedUnit, SweepPlan } from '../core/sweep/plan.js';
import type { ArtifactStore } from '../core/store/index.js';
import { heartbeatWhile, jsonBytes, loadVectors, type ActivityDeps } from './context.js';

export interface EpoUnitResult {
  kind: 'epo';
  iterations: number;
  bestF: number;
  frontier: number;
  resumedFrom: number;
}

export async function runEpoUnit(deps: ActivityDeps, store: ArtifactStore, plan: SweepPlan, unit: PlannedUnit<'epo'>, moved = 0): Promise<EpoUnitResult> {
  const ctx = Context.current();
  const engine = await heartbeatWhile(deps.models.engine(plan.spec.model, plan.spec.storage), { loading: plan.spec.model.path });
  const method = plan.spec.methods.epo!;
  const { target, seed } = unit.spec;

  const kind = kindOf(target.kind);
  const vectors = kind.usesVectors ? await loadVectors(store, plan) : undefined;
  const objective = resolveTarget(target, engine.tokenizer, vectors, plan.spec.source, engine.shape.dVocab, engine.shape);
  const config = epoRunConfig(method, { seqLen: plan.spec.study.seqLen, seed, bannedText: kind.bannedText?.(target) });
  const info = { unit: unit.id, key: unit.key, modelId: plan.modelId, objective: describeObjective(objective) };

  const ckKey = unitFileKey(unit, 'epoCheckpoint');
  let resume: EpoState | undefined;
  const ckBytes = await store.get(ckKey);
  // A checkpoint is a cache: a damaged one (not a checkpoint, state not JSON, a foreign generator state) is
  // dropped and the unit starts afresh, to the same result (EPO is deterministic given its seed).
  if (ckBytes) {
    try {
      resume = decodeCheckpoint(ckBytes, `${store.uri}/${ckKey}`).state;
    } catch (e) {
      if (!isUserError(e)) throw e;
    }
  }
  const resumedFrom = resume?.iteration ?? 0;
  const started = new Date().toISOString();

  const result = await epo(engine, objective, config, {
    resume,
    onProgress: (p) => {
      deps.metrics?.iteration();
      ctx.heartbeat({ iteration: p.iteration, iters: p.iters, bestF: Math.max(...p.slotF), nonDominated: p.nonDominated });
      // Cancelled, or the worker is shutting down: stop; epo() checkpoints on the way out.
      return ctx.cancellationSignal.aborted ? 'stop' : 'continue';
    },
    onCheckpoint: async (state) => {
      await store.put(ckKey, encodeCheckpoint(state, info));
      deps.metrics?.checkpointed(unit.id);
    },
  });
  if (result.stopped) {
    // Rethrow the cancellation so Temporal records it (runUnit turns a worker shutdown into a move).
    throw ctx.cancellationSignal.reason ?? new Error('EPO stopped before finishing');
  }

  const deterministicConfig = resultConfig(result.state.config);
  const points = paretoFrontier([result.history], (ids) => engine.tokenizer.decode(ids));
  await store.put(unitFileKey(unit, 'history'), encodeHistory(result.history, { config: deterministicConfig, ...info }));
  await store.put(unitFileKey(unit, 'frontier'), jsonBytes({ unit: unit.id, target, seed, points }), { contentType: 'application/json' });
  const summary: EpoUnitResult = {
    kind: 'epo',
    iterations: result.state.iteration,
    bestF: points[0]?.f ?? Number.NaN,
    frontier: points.length,
    resumedFrom: 0,
  };
  // Provenance that varies between runs (worker, times, attempts) lives apart from the results.
  await store.put(
    unitFileKey(unit, 'run'),
    jsonBytes({ worker: deps.workerName, attempt: ctx.info.attempt, moved, started, finished: new Date().toISOString(), resumedFrom, backend: engine.backend }),
  );
  // Written last: its presence marks the unit finished.
  await store.put(resultKey(unit), jsonBytes({ unit: unit.id, ...summary, producer: { modelId: plan.modelId, config: deterministicConfig, info } }));
  return { ...summary, resumedFrom };
}
