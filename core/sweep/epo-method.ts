// A sweep's EPO method (methods.epo, typed EpoMethod in spec.ts) turned into what EPO and the plan take: the one
// place that knows which of the method's fields are EPO knobs and which are the sweep's.
import type { EpoConfig } from '../epo/config.js';
import type { EpoMethod } from './spec.js';

/** The method's EPO knobs: the method without the sweep's run count and seeds. */
function knobsOf(method: EpoMethod): Omit<EpoMethod, 'runsPerVector' | 'seeds'> {
  const { runsPerVector: _r, seeds: _s, ...knobs } = method;
  return knobs;
}

/**
 * The EPO config of one run of the method: its knobs, the study's prompt length and the run's seed. A logit
 * target's `bannedText` replaces the method's.
 */
export function epoRunConfig(method: EpoMethod, run: { seqLen: number; seed: number; bannedText?: string }): Partial<EpoConfig> {
  return { ...knobsOf(method), bannedText: run.bannedText ?? method.bannedText, seqLen: run.seqLen, seed: run.seed };
}

/** The knobs that determine a run's result (how often it checkpoints does not), as a unit's key hashes them beside its seqLen and seed. */
export function epoResultKnobs(method: EpoMethod): Omit<EpoMethod, 'runsPerVector' | 'seeds' | 'checkpointEvery'> {
  const { checkpointEvery: _ce, ...knobs } = knobsOf(method);
  return knobs;
}
