// An EPO unit: runs core epo() for one target and seed, heartbeats every iteration, checkpoints to the
// store every K iterations, and on a retry (another worker, after a crash) resumes from the last checkpoint.
// On cancellation or worker shutdown it checkpoints before giving up, so nothing finished is lost.
import { Context } from '@temporalio/activity';
import type { Objective } from '../core/engine.js';
import { UserError } from '../core/errors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../core/epo/checkpoint.js';
import { resultConfig, type EpoConfig } from '../core/epo/config.js';
import { epo, type EpoState } from '../core/epo/epo.js';
import { paretoFrontier } from '../core/epo/frontier.js';
import { encodeHistory } from '../core/epo/history.js';
import { describeObjective } from '../core/objectives/spec.js';
import type { SweepPlan, UnitSpec } from '../core/sweep/plan.js';
import { resultKey } from '../core/sweep/plan.js';
import type { ArtifactStore } from '../core/store/index.js';
import { heartbeatWhile, jsonBytes, loadVectors, type ActivityDeps } from './context.js';

export interface EpoUnitResult {
  kind: 'epo';
  iterations: number;
  bestF: number;
  frontier: number;
  resumedFrom: number;
}

type EpoUnit = SweepPlan['units'][number] & { spec: Extract<UnitSpec, { kind: 'epo' }> };

export async function runEpoUnit(deps: ActivityDeps, store: ArtifactStore, plan: SweepPlan, unit: EpoUnit, moved = 0): Promise<EpoUnitResult> {
  const ctx = Context.current();
  const engine = await heartbeatWhile(deps.models.engine(plan.spec.model, plan.spec.storage), { loading: plan.spec.model.path });
  const method = plan.spec.methods.epo!;
  const { target, seed } = unit.spec;

  let objective: Objective;
  let bannedText = method.bannedText;
  if (target.kind === 'resid') {
    const vectors = await loadVectors(store, plan);
    objective = { kind: 'resid', layer: target.layer, vector: Float32Array.from(vectors[target.layer]![target.vector]!) };
  } else if (target.kind === 'neuron') {
    objective = { kind: 'neuron', layer: target.layer, index: target.index };
  } else {
    const ids = engine.tokenizer.encode(target.token);
    if (ids.length !== 1) {
      throw new UserError('E_SWEEP_TARGET', `${plan.spec.source}: targets.tokens ${JSON.stringify(target.token)} is ${ids.length} tokens; a target must be exactly one token`);
    }
    objective = { kind: 'logit', token: ids[0]! };
    bannedText = target.bannedText ?? bannedText;
  }

  const { runsPerVector: _r, seeds: _s, ...knobs } = method;
  const config: Partial<EpoConfig> = { ...knobs, bannedText, seqLen: plan.spec.study.seqLen, seed };
  const info = { unit: unit.id, key: unit.key, modelId: plan.modelId, objective: describeObjective(objective) };

  const ckKey = `${unit.key}/checkpoint.safetensors`;
  let resume: EpoState | undefined;
  const ckBytes = await store.get(ckKey);
  if (ckBytes) resume = decodeCheckpoint(ckBytes, `${store.uri}/${ckKey}`).state;
  const resumedFrom = resume?.iteration ?? 0;
  const started = new Date().toISOString();

  const result = await epo(engine, objective, config, {
    resume,
    onProgress: (p) => {
      deps.metrics?.iteration();
      ctx.heartbeat({ iteration: p.iteration, iters: p.iters, bestF: Math.max(...p.slotF), frontierSize: p.frontierSize });
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
  await store.put(`${unit.key}/history.safetensors`, encodeHistory(result.history, { config: deterministicConfig, ...info }));
  await store.put(`${unit.key}/frontier.json`, jsonBytes({ unit: unit.id, target, seed, points }), { contentType: 'application/json' });
  const summary: EpoUnitResult = {
    kind: 'epo',
    iterations: result.state.iteration,
    bestF: points[0]?.f ?? Number.NaN,
    frontier: points.length,
    resumedFrom: 0,
  };
  // Provenance that varies between runs (worker, times, attempts) lives apart from the results.
  await store.put(
    `${unit.key}/run.json`,
    jsonBytes({ worker: deps.workerName, attempt: ctx.info.attempt, moved, started, finished: new Date().toISOString(), resumedFrom, backend: engine.backend }),
  );
  // Written last: its presence marks the unit finished.
  await store.put(resultKey(unit), jsonBytes({ unit: unit.id, ...summary, producer: { modelId: plan.modelId, config: deterministicConfig, info } }));
  return { ...summary, resumedFrom };
}
