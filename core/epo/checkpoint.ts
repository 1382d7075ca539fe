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
  const json = checkedState(metadata.state, source);
  const historyTensors: Record<string, ArrayTensor> = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith('history.')) historyTensors[name.slice(8)] = t;
  const history = History.fromTensors(historyTensors, source);
  const population = json.population.map((m, s) => ({
    ids: m.ids,
    f: m.f,
    ce: m.ce,
    valid: m.valid,
    topk: m.hasTopk ? (topkOf(tensors, s, source).data as Int32Array) : null,
  }));
  return { state: { config: json.config, iteration: json.iteration, rng: json.rng, population, history }, info: json.info };
}

function damaged(source: string, what: string): UserError {
  return new UserError('E_CHECKPOINT_STATE', `${source}: ${what}; the checkpoint is damaged: start the run afresh without --resume (or remove the file)`);
}

function topkOf(tensors: Record<string, ArrayTensor>, slot: number, source: string): ArrayTensor {
  const t = tensors[`topk.${slot}`];
  if (!t || !(t.data instanceof Int32Array)) throw damaged(source, `slot ${slot} is marked as having its top-k, but tensor topk.${slot} is missing or not I32`);
  return t;
}

/** The state JSON, checked field by field: a damaged file is the user's to fix, not a crash. */
function checkedState(text: string | undefined, source: string): StateJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text ?? '');
  } catch {
    throw damaged(source, 'its state (the "state" metadata) is not JSON');
  }
  const j = raw as Partial<StateJson> | null;
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw damaged(source, 'its state is not a JSON object');
  if (typeof j.config !== 'object' || j.config === null) throw damaged(source, 'its state has no config object');
  if (!Number.isInteger(j.iteration) || (j.iteration as number) < 0) throw damaged(source, `its state's iteration is not a count (${JSON.stringify(j.iteration)})`);
  // xoroshiro128+ (core/rng.ts): four 32-bit integers, not all zero (a zero state draws only zeros).
  const rng = j.rng;
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((x) => Number.isInteger(x) && (x as number) >= -(2 ** 31) && (x as number) < 2 ** 32) || rng.every((x) => x === 0)) {
    throw damaged(source, `its generator state is not xoroshiro128+'s (four 32-bit integers, not all zero), got ${JSON.stringify(rng)?.slice(0, 80)}`);
  }
  if (!Array.isArray(j.population) || j.population.length === 0) throw damaged(source, 'its state has no population');
  for (const [s, m] of j.population.entries()) {
    if (typeof m !== 'object' || m === null || !Array.isArray(m.ids) || !m.ids.every((t) => Number.isInteger(t) && t >= 0) || typeof m.hasTopk !== 'boolean') {
      throw damaged(source, `its population slot ${s} is not a member (token ids, hasTopk)`);
    }
  }
  if (typeof j.info !== 'object' || j.info === null) throw damaged(source, 'its state has no info object');
  return j as StateJson;
}
