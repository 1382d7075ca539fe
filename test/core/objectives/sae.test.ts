// The sae objective kind: the three SAE formats read as their libraries encode (against the goldens the SAE
// fixtures carry: the library's own encode on the model's golden prompts), the CLI and sweep-file forms, the
// refusals of an SAE that does not fit, the gradient through the latent, and EPO on a latent.
import { cpSync, mkdtempSync, readdirSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { Objective, SaeObjective } from '../../../core/engine.js';
import { epo } from '../../../core/epo/epo.js';
import { withBos } from '../../../core/model/bos.js';
import { saeValue } from '../../../core/model/objectives.js';
import { readSafetensors, writeSafetensors } from '../../../core/model/safetensors.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { parseObjective } from '../../../core/objectives/spec.js';
import { readSae, saeIdentity, saeObjective, tapOfHookName, tapOfHookpoint } from '../../../core/objectives/sae.js';
import { planUnits } from '../../../core/sweep/plan.js';
import { parseSweep } from '../../../core/sweep/spec.js';
import { checkStudyFitsModel } from '../../../core/sweep/preflight.js';
import { MODELS, SAES, readSaeGoldens, saePath, scaledMaxDiff } from '../model/helpers.js';

const GEMMA_SCOPE = join(SAES, 'gemma-scope-tiny-gemma2-resid_post.1/params.npz');

const goldens = readSaeGoldens().map((g) => ({ file: g.file, g }));

const engines = new Map<string, Promise<TfjsEngine>>();
const engineFor = (model: string) => {
  if (!engines.has(model)) engines.set(model, TfjsEngine.load(join(MODELS, model), { backend: 'wasm' }));
  return engines.get(model)!;
};
afterAll(async () => {
  for (const e of engines.values()) (await e).dispose();
});

function values(obj: SaeObjective, x: tf.Tensor2D): Float32Array {
  return tf.tidy(() => saeValue(obj, x).dataSync() as Float32Array);
}

describe('SAE latents against their libraries (goldens)', () => {
  it('has a golden for every SAE fixture', () => {
    expect(goldens.map((g) => g.g.sae)).toContain('gemma-scope-tiny-gemma2-resid_post.1');
    expect(goldens.map((g) => g.g.sae).sort()).toEqual(readdirSync(SAES).sort());
  });

  for (const { file, g } of goldens) {
    it(`${file}: every latent within 1e-5 of the library's encode, at the tap the engine computes`, async () => {
      const engine = await engineFor(g.model);
      const tap = g.tap ?? g.hook!;
      const sae = readSae(saePath(g.sae));
      // The hook the SAE's own files name (SAELens' hook_name, sparsify's hookpoint), where they name one.
      if (sae.tap !== undefined) expect(sae.tap).toBe(tap);
      // Golden prompts hold their BOS already: the raw engine, no withBos. Prompts of one length per batch.
      const acts = g.acts.flat();
      const ours = new Float32Array(acts.length);
      const xs = new Float32Array(g.x.flat().length);
      const byLength = new Map<number, number[]>();
      g.prompts.forEach((p, i) => byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]));
      for (const rows of byLength.values()) {
        const got = await engine.taps(
          rows.map((i) => g.prompts[i]!),
          [tap],
          { ce: false },
        );
        expect(got.dims[tap]).toBe(sae.dIn);
        const x = tf.tensor2d(got.values[tap]!, [rows.length, sae.dIn]);
        rows.forEach((i, b) => xs.set(got.values[tap]!.subarray(b * sae.dIn, (b + 1) * sae.dIn), i * sae.dIn));
        for (let latent = 0; latent < sae.dSae; latent++) {
          values(saeObjective(sae, latent, tap), x).forEach((f, b) => (ours[rows[b]! * sae.dSae + latent] = f));
        }
        x.dispose();
      }
      expect(scaledMaxDiff(xs, g.x.flat())).toBeLessThan(1e-5);
      const worst = scaledMaxDiff(ours, acts);
      if (process.env['SAE_REPORT']) process.stderr.write(`${g.sae}: worst ${worst.toExponential(2)}\n`);
      expect(worst, `${g.sae}: worst scale-relative error`).toBeLessThan(1e-5);
      // The engine's own evaluate, end to end, on the latent most active on the first prompt.
      const first = g.acts[0]!;
      const latent = first.indexOf(Math.max(...first));
      const ev = await engine.evaluate(g.prompts, saeObjective(sae, latent, tap));
      expect(
        scaledMaxDiff(
          ev.f,
          g.acts.map((row) => row[latent]!),
        ),
      ).toBeLessThan(1e-5);
    });
  }
});

describe('sae objective specs', () => {
  it('parses sae:<site>.<layer>:<file>#<latent> and refuses an SAE that does not fit, in one coded line', async () => {
    const engine = await engineFor('tiny-gemma2');
    const { shape, tokenizer } = engine;
    const o = parseObjective(`sae:resid_post.1:${GEMMA_SCOPE}#3`, shape, tokenizer) as SaeObjective;
    expect(o).toMatchObject({ kind: 'sae', tap: 'resid_post.1', latent: 3, dSae: 32, activation: { kind: 'jumprelu' } });
    expect(o.bDec).toBeUndefined(); // Gemma Scope subtracts no b_dec
    const refuse = (spec: string, why: RegExp) => {
      let err: unknown;
      try {
        parseObjective(spec, shape, tokenizer);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: expect.stringMatching(/^E_/) });
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message).not.toContain('\n');
    };
    refuse(`sae:${GEMMA_SCOPE}#3`, /do not say which hook it reads.*sae:<site>\.<layer>:<path>#<latent>/);
    refuse(`sae:resid_post.9:${GEMMA_SCOPE}#3`, /layer 9 is out of range for resid_post/);
    refuse(`sae:resid_post.1:${GEMMA_SCOPE}#32`, /latent 32 is out of range \[0, 31\]/);
    refuse(`sae:resid_post.1:${GEMMA_SCOPE}`, /expected sae:\[<site>\.<layer>:\]<dir-or-file>#<latent>/);
    refuse(`sae:resid_post.1:/no/such.npz#1`, /no such file/);
    const other = await engineFor('tiny-parallel');
    if (other.shape.dModel !== 64) {
      expect(() => parseObjective(`sae:resid_post.1:${GEMMA_SCOPE}#3`, other.shape, other.tokenizer)).toThrow(/d_in is 64, resid_post.1 is \d+ wide/);
    }
  });

  it('reads SAELens (hook_name at the top level or under metadata) and sparsify directories', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-'));
    const [d, s] = [4, 3];
    const W = Float32Array.from({ length: d * s }, (_, i) => i / 10);
    const lens = join(dir, 'lens');
    mkdirSync(lens);
    writeSafetensors(join(lens, 'sae_weights.safetensors'), {
      W_enc: { dtype: 'F32', shape: [d, s], data: W },
      b_enc: { dtype: 'F32', shape: [s], data: Float32Array.of(1, 2, 3) },
      b_dec: { dtype: 'F32', shape: [d], data: Float32Array.of(0.5, 0, 0, 0) },
      W_dec: { dtype: 'F32', shape: [s, d], data: new Float32Array(s * d) },
      threshold: { dtype: 'F32', shape: [s], data: Float32Array.of(0.1, 0.2, 0.3) },
    } as never);
    writeFileSync(
      join(lens, 'cfg.json'),
      JSON.stringify({ architecture: 'jumprelu', d_in: d, d_sae: s, metadata: { hook_name: 'blocks.2.hook_mlp_out' }, apply_b_dec_to_input: true }),
    );
    const a = readSae(lens);
    expect(a).toMatchObject({ format: 'saelens', tap: 'mlp_out.2', dIn: 4, dSae: 3, activation: { kind: 'jumprelu' } });
    expect(Array.from(saeObjective(a, 1, 'mlp_out.2').wEnc)).toEqual(Array.from(Float32Array.of(0.1, 0.4, 0.7, 1.0)));
    expect(saeObjective(a, 2, 'mlp_out.2').activation).toEqual({ kind: 'jumprelu', threshold: Math.fround(0.3) });

    const sp = join(dir, 'layers.5');
    mkdirSync(sp);
    writeSafetensors(join(sp, 'sae.safetensors'), {
      'encoder.weight': { dtype: 'F32', shape: [s, d], data: W },
      'encoder.bias': { dtype: 'F32', shape: [s], data: Float32Array.of(1, 2, 3) },
      W_dec: { dtype: 'F32', shape: [s, d], data: new Float32Array(s * d) },
      b_dec: { dtype: 'F32', shape: [d], data: new Float32Array(d) },
    } as never);
    writeFileSync(join(sp, 'cfg.json'), JSON.stringify({ k: 2, num_latents: s, d_in: d }));
    const b = readSae(sp);
    expect(b).toMatchObject({ format: 'sparsify', tap: 'resid_post.5', dIn: 4, dSae: 3, activation: { kind: 'topk', k: 2 } });
    expect(Array.from(saeObjective(b, 1, 'resid_post.5').wEnc)).toEqual(Array.from(W.subarray(4, 8))); // encoder row 1

    expect(tapOfHookName('blocks.7.hook_resid_pre')).toBe('resid_pre.7');
    expect(tapOfHookName('blocks.7.attn.hook_z')).toBeUndefined();
    expect(tapOfHookpoint('layers.3.mlp')).toBe('mlp_out.3');
    expect(tapOfHookpoint('gpt_neox.layers.3')).toBe('resid_post.3');
  });

  it("reads an SAE directory again when a file in it is overwritten, though the directory's own mtime is unchanged", () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sae-overwrite-')), 'sae');
    cpSync(join(SAES, 'saelens-standard-tiny-llama3-resid_pre.1'), dir, { recursive: true });
    const dirTime = new Date('2024-01-01T00:00:00Z'); // whole seconds: utimesSync sets it back exactly
    utimesSync(dir, dirTime, dirTime);
    const before = readSae(dir);
    const wEnc = Float32Array.from(before.wEnc);
    const id = saeIdentity(dir);
    const file = join(dir, 'sae_weights.safetensors');
    const tensors = readSafetensors(file);
    const w = tensors.get('W_enc')!;
    writeSafetensors(file, {
      ...Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: 'F32', shape: t.shape, data: t.data }])),
      W_enc: { dtype: 'F32', shape: w.shape, data: w.data.map((v) => -v) },
    } as never);
    utimesSync(dir, dirTime, dirTime);
    expect(statSync(dir).mtimeMs).toBe(dirTime.getTime());
    expect(saeIdentity(dir)).not.toBe(id);
    expect(Array.from(readSae(dir).wEnc)).toEqual(Array.from(wEnc, (v) => -v));
  });
});

describe('sae maths', () => {
  const x = tf.tensor2d([
    [1, -2, 0.5, 3],
    [0.2, 0.1, -1, 2],
  ]);
  const base = { kind: 'sae' as const, tap: 'resid_post.0', latent: 0, dSae: 3, bEnc: 0.1 };
  const w = Float32Array.of(0.5, -0.25, 1, 0.3);
  const grad = (o: SaeObjective) =>
    tf.tidy(
      () =>
        tf
          .grad((xx: tf.Tensor) => tf.sum(saeValue(o, xx as tf.Tensor2D)))(x)
          .arraySync() as number[][],
    );
  const fd = (o: SaeObjective) => {
    const h = 1e-2;
    const base0 = x.arraySync();
    return base0.map((row, b) =>
      row.map((_, i) => {
        const up = base0.map((r) => [...r]);
        const dn = base0.map((r) => [...r]);
        up[b]![i]! += h;
        dn[b]![i]! -= h;
        const f = (m: number[][]) => tf.tidy(() => saeValue(o, tf.tensor2d(m)).arraySync() as number[])[b]!;
        return (f(up) - f(dn)) / (2 * h);
      }),
    );
  };
  const close = (a: number[][], b: number[][]) => expect(scaledMaxDiff(a.flat(), b.flat())).toBeLessThan(2e-3);

  it('differentiates every activation and normalisation as a finite difference does (away from the kinks)', () => {
    const cases: SaeObjective[] = [
      { ...base, wEnc: w, activation: { kind: 'relu' } },
      { ...base, wEnc: w, bDec: Float32Array.of(0.1, 0, -0.2, 0), activation: { kind: 'jumprelu', threshold: 0.05 } },
      { ...base, wEnc: w, normalize: 'layer_norm', activation: { kind: 'relu' } },
      { ...base, wEnc: w, normalize: 'constant_norm_rescale', activation: { kind: 'relu' } },
    ];
    for (const o of cases) close(grad(o), fd(o));
  });

  it('TopK: the latent when among the k largest, else 0; the selection held fixed in the gradient', () => {
    // Latent 0: column w; latent 1 always huge; latent 2 always very negative.
    const all = new Float32Array(4 * 3);
    for (let i = 0; i < 4; i++) {
      all[i * 3] = w[i]!;
      all[i * 3 + 1] = 0;
      all[i * 3 + 2] = 0;
    }
    const bAll = Float32Array.of(0.1, 100, -100);
    const topk = (k: number): SaeObjective => ({ ...base, wEnc: w, activation: { kind: 'topk', k, wEncAll: all, bEncAll: bAll, dSae: 3, latent: 0 } });
    const pre = tf.tidy(() => (tf.add(tf.matMul(x, tf.tensor2d(w, [4, 1])), 0.1).arraySync() as number[][]).map((r) => r[0]!));
    expect(Array.from(values(topk(1), x))).toEqual([0, 0]);
    const two = Array.from(values(topk(2), x));
    two.forEach((v, b) => expect(v).toBeCloseTo(Math.max(0, pre[b]!), 5));
    const g = grad(topk(2));
    g.forEach((row, b) => row.forEach((v, i) => expect(v).toBeCloseTo(pre[b]! > 0 ? w[i]! : 0, 5)));
    expect(
      grad(topk(1))
        .flat()
        .every((v) => v === 0),
    ).toBe(true);
  });

  it("through the engine: the one-hot gradient of an SAE on resid_pre with layer_norm matches the resid objective's", async () => {
    // standardise(x) . v vs ((x - mean) / (std + 1e-5)) . v + bEnc (relu active): equal up to std / (std + 1e-5).
    const engine = await engineFor('tiny-gemma2');
    const d = engine.shape.dModel;
    const v = Float32Array.from({ length: d }, (_, i) => Math.sin(i + 1) / Math.sqrt(d / 2));
    const ids = [[2, 167, 300, 265, 74, 12]];
    const resid: Objective = { kind: 'resid', layer: 1, vector: v };
    const sae: SaeObjective = { kind: 'sae', tap: 'resid_pre.1', normalize: 'layer_norm', wEnc: v, bEnc: 1000, activation: { kind: 'relu' }, latent: 0, dSae: 1 };
    const [a, b] = [await engine.gradients(ids, [0], resid, 8, { full: true }), await engine.gradients(ids, [0], sae, 8, { full: true })];
    expect(b.f[0]! - 1000).toBeCloseTo(a.f[0]!, 2);
    expect(scaledMaxDiff(b.grads!, a.grads!)).toBeLessThan(1e-4);
    // An inactive JumpReLU latent has no gradient.
    const off: SaeObjective = { ...sae, bEnc: 0, activation: { kind: 'jumprelu', threshold: 1e9 } };
    const z = await engine.gradients(ids, [0], off, 8, { full: true });
    expect(z.f[0]).toBe(0);
    expect(z.grads!.every((g) => g === 0)).toBe(true);
  });
});

describe('sae in sweeps and in EPO', () => {
  it('plans a list of SAEs with latents as a list or a range, one EPO unit per latent and seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-sweep-'));
    const spec = parseSweep(
      `name: s
model: { path: ${join(MODELS, 'tiny-gemma2')} }
study: { layers: [1], vectors: { count: 1 }, seqLen: 4 }
methods: { epo: { topk: 32 } }
targets:
  saes:
    - { path: ${GEMMA_SCOPE}, site: resid_post, layer: 1, latents: 0..2 }
    - { path: ${GEMMA_SCOPE}, site: resid_post, layer: 1, latents: [7] }
  seeds: [0, 1]
storage: { uri: ${dir} }`,
      join(dir, 's.yaml'),
    );
    expect(spec.targets.saes).toEqual([0, 1, 2, 7].map((latent) => ({ path: GEMMA_SCOPE, tap: 'resid_post.1', latent })));
    const units = planUnits(spec, 'm', 'v', new Map([[1, 1]])).filter((u) => u.method === 'sae');
    expect(units.map((u) => u.id)).toEqual([0, 1, 2, 7].flatMap((l) => [0, 1].map((s) => `sae/gemma-scope-tiny-gemma2-resid_post.1/params.npz@resid_post.1#${l}/s${s}`)));
    const engine = await engineFor('tiny-gemma2');
    checkStudyFitsModel(spec, engine.shape);
    const bad = parseSweep(
      `name: s
model: { path: /m }
study: { layers: [1], vectors: { count: 1 }, seqLen: 4 }
methods: { epo: { topk: 32 } }
targets: { saes: [{ path: ${GEMMA_SCOPE}, site: resid_post, layer: 5, latents: 0 }] }
storage: { uri: ${dir} }`,
      join(dir, 's.yaml'),
    );
    expect(() => checkStudyFitsModel(bad, engine.shape)).toThrow(/E_SWEEP_MODEL|targets.saes .*layer 5 is out of range/);
    expect(() =>
      parseSweep(
        `name: s\nmodel: { path: /m }\nstudy: { layers: [1], vectors: { count: 1 }, seqLen: 4 }\nmethods: { epo: {} }\ntargets: { saes: [{ path: x.npz, site: resid_post, latents: 0 }] }\nstorage: { uri: /s }`,
        '/tmp/s.yaml',
      ),
    ).toThrow(/site and layer together/);
  });

  it('runs EPO on a Gemma Scope latent of tiny-gemma2', async () => {
    const engine = withBos(await engineFor('tiny-gemma2'));
    const objective = parseObjective(`sae:resid_post.1:${GEMMA_SCOPE}#7`, engine.shape, engine.tokenizer);
    const result = await epo(engine, objective, { iters: 3, population: 4, children: 8, topk: 16, seqLen: 6, seed: 0 });
    expect(result.history.iterations).toHaveLength(3);
    expect(result.history.iterations.every((it) => it.f.every((f) => Number.isFinite(f) && f >= 0))).toBe(true);
  });
});
