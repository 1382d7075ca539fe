// An EPO checkpoint as one safetensors file: the history so far, each slot's cached top-k, and the rest of
// the state (options, iteration, generator state, population) as JSON metadata. Resuming from it gives a
// history byte-identical to the uninterrupted run's.
import { UserError } from '../errors.js';
import { decodeTensors, encodeTensors, type ArrayTensor } from '../tensor-file.js';
import type { EpoConfig } from './config.js';
import type { EpoState } from './epo.js';
import { History } from './history.js';

export const CHECKPOINT_FORMAT = 'dreamsweep.epo-checkpoint';
export const CHECKPOINT_VERSION = '1';

interface StateJson {
  config: EpoConfig;
  iteration: number;
  rng: number[];
  population: Array<{ ids: number[]; f: number; ce: number; valid: boolean; hasTopk: boolean }>;
  /** Whatever the caller wants to check on resume (objective, model identity). */
  info: Record<string, unknown>;
}

export function encodeCheckpoint(state: EpoState, info: Record<string, unknown> = {}): Uint8Array {
  const tensors: Record<string, ArrayTensor> = {};
  for (const [name, t] of Object.entries(state.history.toTensors())) tensors[`history.${name}`] = t;
  const { topk, seqLen } = state.config;
  state.population.forEach((m, s) => {
    if (m.topk) tensors[`topk.${s}`] = { dtype: 'I32', shape: [seqLen, topk], data: m.topk };
  });
  const json: StateJson = {
    config: state.config,
    iteration: state.iteration,
    rng: state.rng,
    // f and CE are float32 values: JSON numbers hold them exactly.
    population: state.population.map((m) => ({ ids: m.ids, f: m.f, ce: m.ce, valid: m.valid, hasTopk: m.topk !== null })),
    info,
  };
  return encodeTensors(tensors, { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, state: JSON.stringify(json) });
}

export function decodeCheckpoint(bytes: Uint8Array, source: string): { state: EpoState; info: Record<string, unknown> } {
  const { tensors, metadata } = decodeTensors(bytes, source);
  if (metadata.format !== CHECKPOINT_FORMAT || metadata.version !== CHECKPOINT_VERSION) {
    throw new UserError(
      'E_CHECKPOINT_FORMAT',
      `${source}: not a version-${CHECKPOINT_VERSION} EPO checkpoint (format ${metadata.format}, version ${metadata.version}); start the run afresh without --resume`,
    );
  }
  const json = JSON.parse(metadata.state!) as StateJson;
  const historyTensors: Record<string, ArrayTensor> = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith('history.')) historyTensors[name.slice(8)] = t;
  const history = History.fromTensors(historyTensors, source);
  const population = json.population.map((m, s) => ({
    ids: m.ids,
    f: m.f,
    ce: m.ce,
    valid: m.valid,
    topk: m.hasTopk ? (tensors[`topk.${s}`]!.data as Int32Array) : null,
  }));
  return { state: { config: json.config, iteration: json.iteration, rng: json.rng, population, history }, info: json.info };
}
