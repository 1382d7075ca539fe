// Checks of a sweep against its model, and (for the embedded default, whose workers share this machine's
// filesystem) against the local files it names, made before anything starts: a refused sweep starts no
// server and writes nothing. On a cluster the plan activity makes the model checks on a worker instead.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { resolveShards } from '../corpus/source.js';
import { resolveEpoConfig } from '../epo/config.js';
import type { ModelShape } from '../engine.js';
import { isUserError, UserError } from '../errors.js';
import { checkModelSeqLen, readConfig } from '../model/load.js';
import { torchPython } from '../model/torch-env.js';
import { checkSweepTargets } from '../objectives/kinds/index.js';
import { readVectorSource } from '../objectives/vectors.js';
import { epoRunConfig } from './epo-method.js';
import { sweepModelFit } from './model-fit.js';
import { checkPlanSize } from './limits.js';
import { residStudy, studyLayers, type SweepSpec } from './spec.js';

/** study.layers and the targets (neurons, SAEs) must exist in the model, and EPO's knobs fit it (top-k, initial ids). */
export function checkStudyFitsModel(spec: SweepSpec, shape: ModelShape): void {
  const bad = studyLayers(spec).filter((L) => L > shape.nLayers);
  if (bad.length) {
    throw new UserError('E_SWEEP_MODEL', `${spec.source}: study.layers ${bad.join(', ')} exceed the model's resid_pre range [0, ${shape.nLayers}] (${spec.model.path})`);
  }
  // Each kind's targets (neurons in the MLPs, SAEs that fit their taps): core/objectives/kinds/.
  checkSweepTargets(spec, shape);
  // As every EPO unit will resolve them (activities/epo.ts): refused here, before any unit runs and fails.
  if (spec.methods.epo) {
    try {
      resolveEpoConfig(epoRunConfig(spec.methods.epo, { seqLen: spec.study.seqLen, seed: 0 }), shape.dVocab);
    } catch (e) {
      if (!isUserError(e)) throw e;
      throw new UserError('E_SWEEP_MODEL', `${spec.source}: methods.epo: ${e.message} (${spec.model.path})`, { cause: e });
    }
  }
}

const isRemote = (uri: string) => /^s3:\/\//.test(uri);

/** Everything the local files let us check: model, seqLen, vectors, plan size, corpus, storage. */
export async function preflightLocal(spec: SweepSpec, warn: (line: string) => void = () => {}): Promise<void> {
  // The embedded default's workers run here: a torch engine that is not installed fails now, not on every unit.
  if (spec.model.engine === 'torch') {
    try {
      torchPython();
    } catch (e) {
      if (!isUserError(e)) throw e;
      throw new UserError(e.code, `${spec.source}: model.engine torch: ${e.message}`, { cause: e });
    }
  }
  if (!isRemote(spec.model.path)) {
    const cfg = readConfig(spec.model.path);
    checkStudyFitsModel(spec, cfg);
    // #29: a model too big for the engine and device it runs on here: a warning line, or a refusal (model-fit.ts).
    const fit = sweepModelFit(spec, cfg);
    if (fit.level === 'refuse') throw new UserError('E_SWEEP_MODEL', fit.line);
    if (fit.level === 'warn') warn(`warning: ${fit.line}`);
    checkModelSeqLen(spec.model.path, spec.study.seqLen, `${spec.source}: study.seqLen`);
    const study = residStudy(spec);
    if (study && 'file' in study.vectors) {
      const set = readVectorSource(study.vectors, cfg.dModel, study.layers);
      const missing = study.layers.filter((L) => !set.has(L));
      if (missing.length) throw new UserError('E_SWEEP_VECTORS', `${spec.source}: study.vectors has no vectors for layers ${missing.join(', ')}`);
      checkPlanSize(spec, cfg.dModel, Math.max(...study.layers.map((L) => set.get(L)!.length)));
    } else checkPlanSize(spec, cfg.dModel, study && 'count' in study.vectors ? study.vectors.count : 0);
  }
  const local = spec.methods.scan?.corpus.filter((c) => !isRemote(c)) ?? [];
  // Each local corpus file must open, and a .zst one start as zstd: found here, not by the units' scans.
  if (local.length) for (const file of await resolveShards(local)) checkCorpusFile(spec, file);
  if (!isRemote(spec.storage.uri)) {
    const dir = spec.storage.uri.replace(/^file:\/\//, '');
    let isFile = false;
    try {
      isFile = !statSync(dir).isDirectory();
    } catch {
      // absent: the store creates it
    }
    if (isFile) throw new UserError('E_SWEEP_STORAGE', `${spec.source}: storage.uri ${spec.storage.uri} is a file; it must be a directory (or absent) or an s3:// URI`);
    // Under a file ("a/store" where a is a file): no directory can ever be made there.
    for (let up = path.dirname(path.resolve(dir)); up !== path.dirname(up); up = path.dirname(up)) {
      const st = statSync(up, { throwIfNoEntry: false });
      if (!st) continue;
      if (!st.isDirectory()) {
        throw new UserError(
          'E_SWEEP_STORAGE',
          `${spec.source}: storage.uri ${spec.storage.uri} lies under ${up}, which is a file; the store must be a directory (or absent) or an s3:// URI`,
        );
      }
      break;
    }
  }
}

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

function checkCorpusFile(spec: SweepSpec, file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new UserError('E_CORPUS_UNREADABLE', `${spec.source}: methods.scan.corpus: ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      cause: e,
    });
  }
  try {
    if (!file.toLowerCase().endsWith('.zst')) return;
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    // A zstd frame, or a skippable frame (magic 0x184D2A50..5F) that some writers put first.
    const skippable = head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18 && (head[0]! & 0xf0) === 0x50;
    if (n < 4 || !(head.equals(ZSTD_MAGIC) || skippable)) {
      throw new UserError('E_CORPUS_BAD_ZSTD', `${spec.source}: methods.scan.corpus: ${file} is not zstd-compressed (no zstd frame at its start); check it with \`zstd -t\``);
    }
  } finally {
    closeSync(fd);
  }
}
