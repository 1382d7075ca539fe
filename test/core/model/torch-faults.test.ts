// The torch engine's GPU failures, shown on the CPU (issue #29): `auto` says which device it chose; a sticky CUDA
// error ends the process after its error frame and the next call starts a fresh one; out of memory shrinks the
// chunk inside the engine (down to one row) and says which chunk worked; frames survive native code writing to
// fd 1 and short writes; bf16's one-hot gradient product and CE target logit come out in float32. The GPU's
// failures are simulated by DREAMSWEEP_TORCH_TEST_FAULTS (TorchEngineOptions.testFaults, tests only).
// Needs the engine's Python (`npm run engines:torch`): skipped without it.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../../core/model/load.js';
import { TorchEngine, type TorchEngineOptions } from '../../../core/model/torch-engine.js';
import { TorchEngineError } from '../../../core/model/torch-process.js';
import { torchEngineDir, torchPython, torchPythonAvailable } from '../../../core/model/torch-env.js';
import { MODELS, readGolden, scaledMaxDiff, toObjective } from './helpers.js';

const available = torchPythonAvailable();
const MODEL = join(MODELS, 'tiny-parallel');
const golden = readGolden('tiny-parallel');
const base: TorchEngineOptions = { device: 'cpu', dtype: 'float32', threads: 1 };
const objective = toObjective(golden.objectives[0]!.objective);

/** 8 prompts of 6 tokens: more rows than the simulated memory holds. */
const prompts = Array.from({ length: 8 }, (_, b) => Array.from({ length: 6 }, (_, i) => (b * 37 + i * 11 + 5) % 300));

describe.skipIf(!available)(
  'the torch engine under simulated GPU faults (cpu)',
  () => {
    let reference: TorchEngine;
    beforeAll(async () => {
      reference = await TorchEngine.load(MODEL, base);
    }, 300_000);
    afterAll(() => reference?.dispose());

    it('logs the device `auto` chose, and why', async () => {
      const lines: string[] = [];
      const e = await TorchEngine.load(MODEL, { ...base, device: 'auto', log: (l) => lines.push(l) });
      try {
        expect(e.hello.device).toMatch(/^cpu/);
        expect(lines.join('\n')).toMatch(/torch engine: device auto -> cpu \(1 threads\): torch .* sees no CUDA device; ask for device cuda/);
      } finally {
        e.dispose();
      }
    });

    it('exits after a sticky CUDA error (answering it first), and the next call runs on a fresh process', async () => {
      const e = await TorchEngine.load(MODEL, { ...base, testFaults: 'cuda-error@2' });
      try {
        const first = await e.evaluate(prompts, objective);
        const pid = e.pid;
        const err = await e.evaluate(prompts, objective).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(err).toBeInstanceOf(TorchEngineError);
        expect((err as TorchEngineError).kind).toBe('crash'); // retryable, as after a crash
        expect((err as Error).message).toMatch(/CUDA error: device-side assert triggered.*the process exited and the next call starts a new one/);
        // The next call does not wait for the old process's exit to be seen, nor fail with it.
        const again = await e.evaluate(prompts, objective);
        expect(e.pid).not.toBe(pid);
        expect(Array.from(again.f)).toEqual(Array.from(first.f));
        expect(Array.from(again.ce)).toEqual(Array.from(first.ce));
      } finally {
        e.dispose();
      }
    });

    it('on out of memory halves the chunk and retries inside the engine, down to what fits, and logs the chunk that worked', async () => {
      const lines: string[] = [];
      const e = await TorchEngine.load(MODEL, { ...base, testFaults: 'oom-above=3', log: (l) => lines.push(l) });
      try {
        const pid = e.pid;
        const [ev, gr, tp] = [
          await e.evaluate(prompts, objective),
          await e.gradients(
            prompts,
            prompts.map(() => 0.5),
            objective,
            8,
            { full: true },
          ),
          await e.taps(prompts, ['resid_pre.1']),
        ];
        const [ev0, gr0, tp0] = [
          await reference.evaluate(prompts, objective),
          await reference.gradients(
            prompts,
            prompts.map(() => 0.5),
            objective,
            8,
            { full: true },
          ),
          await reference.taps(prompts, ['resid_pre.1']),
        ];
        expect(scaledMaxDiff(ev.f, ev0.f)).toBeLessThan(1e-6);
        expect(scaledMaxDiff(ev.ce, ev0.ce)).toBeLessThan(1e-6);
        expect(scaledMaxDiff(gr.grads!, gr0.grads!)).toBeLessThan(1e-6);
        expect(Array.from(gr.topk)).toEqual(Array.from(gr0.topk));
        expect(scaledMaxDiff(tp.values['resid_pre.1']!, tp0.values['resid_pre.1']!)).toBeLessThan(1e-6);
        expect(scaledMaxDiff(tp.ce, tp0.ce)).toBeLessThan(1e-6);
        const log = lines.join('\n');
        for (const op of ['evaluate', 'gradients', 'taps']) {
          expect(log).toContain(`${op}: out of memory at 8 rows of 6 positions; retrying in chunks of 4`);
          expect(log).toContain(`${op}: out of memory at 4 rows of 6 positions; retrying in chunks of 2`);
          expect(log).toContain(`${op}: chunks of 2 rows worked`);
        }
        expect(e.pid).toBe(pid);
        // Later calls start at the size that worked: no new out-of-memory line.
        const before = lines.length;
        await e.evaluate(prompts, objective);
        expect(lines.slice(before).filter((l) => l.includes('out of memory'))).toEqual([]);
      } finally {
        e.dispose();
      }
    });

    it('splits a batch evenly under the memory cap (8 rows under a cap of 5: 4 + 4, not 5 + 3)', async () => {
      const lines: string[] = [];
      const V = reference.shape.dVocab;
      const n = prompts[0]!.length;
      // A chunk of more than 4 rows would fail: the even split never makes one.
      const e = await TorchEngine.load(MODEL, { ...base, maxChunkFloats: 5 * n * V, testFaults: 'oom-above=4', log: (l) => lines.push(l) });
      try {
        const [tp, tp0] = [await e.taps(prompts, ['resid_pre.1']), await reference.taps(prompts, ['resid_pre.1'])];
        const [ev, ev0] = [await e.evaluate(prompts, objective), await reference.evaluate(prompts, objective)];
        expect(scaledMaxDiff(tp.values['resid_pre.1']!, tp0.values['resid_pre.1']!)).toBeLessThan(1e-6);
        expect(scaledMaxDiff(ev.f, ev0.f)).toBeLessThan(1e-6);
        expect(lines.filter((l) => l.includes('out of memory'))).toEqual([]);
      } finally {
        e.dispose();
      }
    });

    it('fails retryably (kind oom) only when one row does not fit, and the process lives on', async () => {
      const e = await TorchEngine.load(MODEL, { ...base, testFaults: 'oom-above=0' });
      try {
        const pid = e.pid;
        await expect(e.evaluate(prompts, objective)).rejects.toMatchObject({ name: 'TorchEngineError', kind: 'oom' });
        expect(e.pid).toBe(pid);
      } finally {
        e.dispose();
      }
    });

    it('keeps its frames intact while native code writes to fd 1', async () => {
      const e = await TorchEngine.load(MODEL, { ...base, testFaults: 'fd1-noise' });
      try {
        const [got, want] = [
          await e.gradients(
            prompts,
            prompts.map(() => 1),
            objective,
            4,
            { full: true },
          ),
          await reference.gradients(
            prompts,
            prompts.map(() => 1),
            objective,
            4,
            { full: true },
          ),
        ];
        expect(Array.from(got.grads!)).toEqual(Array.from(want.grads!));
        expect(Array.from(got.topk)).toEqual(Array.from(want.topk));
      } finally {
        e.dispose();
      }
    });

    it('writes whole frames through short writes', () => {
      // FdWriter over a pipe whose every write takes at most 7 bytes; read back with read_frame.
      const code = `
import io, os, sys
from dreamsweep_torch.wire import FdWriter, read_frame, write_frame
r, w = os.pipe()
calls = []
def short(fd, data):
    calls.append(1)
    return os.write(fd, bytes(data[:7]))
data = bytes(range(256)) * 16
write_frame(FdWriter(w, short), {"id": 1, "ok": True}, [("x", "u8", [len(data)], data)])
os.close(w)
header, arrays = read_frame(io.BufferedReader(io.FileIO(r)))
assert header["id"] == 1 and arrays["x"][2] == data, "frame mangled"
print(len(calls))
`;
      const out = execFileSync(torchPython(), ['-c', code], { env: { ...process.env, PYTHONPATH: torchEngineDir() }, encoding: 'utf8' });
      expect(Number(out.trim())).toBeGreaterThan(4096 / 7);
    });

    it('answers tensors that do not fit the model config.json describes as E_MODEL_SHAPE / E_MODEL_MISSING_TENSOR, naming the model directory', () => {
      const code = `
import json, sys, torch
from dreamsweep_torch import families
from dreamsweep_torch.errors import EngineUserError
from dreamsweep_torch.model import Transformer
from dreamsweep_torch.weights import random_weights
cfg = json.loads(sys.argv[1])
for change in ("shape", "missing"):
    w = random_weights(families.params(cfg), torch.device("cpu"), torch.float32, 0)
    if change == "shape":
        w["W_E"] = w["W_E"][:, :-1]
    else:
        del w["ln_f.weight"]
    try:
        Transformer.build(cfg, w, torch.device("cpu"), torch.float32, sys.argv[2])
        print("built")
    except EngineUserError as e:
        print(e.code, e)
`;
      const out = execFileSync(torchPython(), ['-c', code, JSON.stringify(readConfig(MODEL)), MODEL], { env: { ...process.env, PYTHONPATH: torchEngineDir() }, encoding: 'utf8' });
      const [shape, missing] = out.trim().split('\n');
      expect(shape).toBe(`E_MODEL_SHAPE ${MODEL}: tensor W_E: expected shape [320, 32] from config.json, got [320, 31]`);
      expect(missing).toBe(`E_MODEL_MISSING_TENSOR ${MODEL}: tensor ln_f.weight is missing (expected shape [32])`);
    });

    it('bf16: the one-hot gradient product comes out in float32, and CE stays within bf16 tolerance of float32', async () => {
      const bf = await TorchEngine.load(MODEL, { ...base, dtype: 'bfloat16' });
      try {
        const lambdas = prompts.map(() => 1);
        const [g, g0] = [await bf.gradients(prompts, lambdas, objective, 8, { full: true }), await reference.gradients(prompts, lambdas, objective, 8, { full: true })];
        // Position 0's gradient is the product (dL/d emb) @ W_E^T alone (CE's one-hot targets start at position 1):
        // rounded to bf16, the low 16 bits of every float32 would be zero.
        const V = bf.shape.dVocab;
        const n = prompts[0]!.length;
        const bits = new Uint32Array(g.grads!.buffer, g.grads!.byteOffset, g.grads!.length);
        let unrounded = 0;
        for (let b = 0; b < prompts.length; b++) for (let v = 0; v < V; v++) if ((bits[b * n * V + v]! & 0xffff) !== 0) unrounded++;
        expect(unrounded).toBeGreaterThan((prompts.length * V) / 2);
        expect(scaledMaxDiff(g.ce, g0.ce)).toBeLessThan(5e-2);
        expect(scaledMaxDiff(g.grads!, g0.grads!)).toBeLessThan(1e-1);
        const ev = await bf.evaluate(prompts, objective);
        expect(scaledMaxDiff(ev.ce, g0.ce)).toBeLessThan(5e-2);
      } finally {
        bf.dispose();
      }
    });
  },
  180_000,
);
