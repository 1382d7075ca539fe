// The sae objective on the torch engine (cpu, float32): for every SAE fixture (test/fixtures/saes, goldens
// test/fixtures/golden/sae-*.json: the library's own encode on the model's golden prompts) f equals the library's
// acts within 1e-5 for latents that fire and latents that do not (for TopK one selected and one positive but not
// selected), with the prefix hint as without, and the one-hot gradient equals the wasm engine's within 1e-4. A
// TopK SAE's whole encoder crosses the wire once per process (by content key) and again only after the process
// evicted it. Skipped without the engine's Python, as torch-engine.test.ts is.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PrefixHint, SaeObjective } from '../../../core/engine.js';
import { TfjsEngine } from '../../../core/model/tfjs-engine.js';
import { TorchEngine } from '../../../core/model/torch-engine.js';
import { torchPythonAvailable } from '../../../core/model/torch-env.js';
import { readSae, saeObjective, type SaeWeights } from '../../../core/objectives/sae.js';
import { MODELS, SAES, readSaeGoldens, saePath, scaledMaxDiff, type SaeGolden } from './helpers.js';

const available = torchPythonAvailable();
const options = { device: 'cpu', dtype: 'float32' as const, threads: 1 };

const goldens = readSaeGoldens();

/**
 * Latents worth checking: the most active on the first prompt, one active on some prompts only (when there is
 * one), and the nearest miss: the latent that is zero where its pre-activation is largest and positive (just below
 * a JumpReLU threshold, or a TopK's k+1-th), else one that never fires.
 */
function latentsOf(g: SaeGolden): number[] {
  const dSae = g.acts[0]!.length;
  const all = [...Array(dSae).keys()];
  const first = g.acts[0]!.indexOf(Math.max(...g.acts[0]!));
  const mixed = all.find((j) => j !== first && g.acts.some((r) => r[j]! > 0) && g.acts.some((r) => r[j] === 0));
  // The nearest miss: the largest positive pre-activation whose activation is zero (a TopK's k+1-th).
  let off: number | undefined;
  let best = 0;
  g.acts.forEach((r, b) =>
    r.forEach((a, j) => {
      if (a === 0 && g.pre[b]![j]! > best) [off, best] = [j, g.pre[b]![j]!];
    }),
  );
  off ??= all.find((j) => g.acts.every((r) => r[j] === 0));
  return [...new Set([first, mixed, off].filter((j): j is number => j !== undefined))];
}

const engines = new Map<string, Promise<[TorchEngine, TfjsEngine]>>();
const enginesFor = (model: string) => {
  if (!engines.has(model)) {
    engines.set(model, Promise.all([TorchEngine.load(join(MODELS, model), options), TfjsEngine.load(join(MODELS, model), { backend: 'wasm' })]));
  }
  return engines.get(model)!;
};
afterAll(async () => {
  for (const e of engines.values()) for (const engine of await e) engine.dispose();
});

describe.skipIf(!available)('the sae objective on the torch engine (cpu, float32)', () => {
  it('has a golden for every SAE fixture', () => {
    expect(goldens.map((g) => g.sae).sort()).toEqual(readdirSync(SAES).sort());
  });

  for (const g of goldens) {
    const tap = g.tap ?? g.hook!;
    it(`${g.sae}: f equals the library's acts, with the prefix hint too, and the gradient the wasm engine's`, async () => {
      const [torch, wasm] = await enginesFor(g.model);
      const sae = readSae(saePath(g.sae));
      const latents = latentsOf(g);
      if (sae.activation.kind === 'topk') {
        // One selected (the first) and one positive before the selection but not among the k.
        expect(latents.some((j) => g.acts.some((r, b) => r[j] === 0 && g.pre[b]![j]! > 0))).toBe(true);
      }
      const lambdas = g.prompts.map((_, b) => [0, 0.5, 2][b % 3]!);
      const { children, hint } = edited(g.prompts, torch.tokenizer.vocabSize);
      let worstF = 0;
      let worstGrad = 0;
      for (const latent of latents) {
        const obj = saeObjective(sae, latent, tap);
        const want = g.acts.map((r) => r[latent]!);
        const scale = Math.max(1, ...g.acts.flat().map(Math.abs)); // the SAE's activations' scale (as sae.test.ts)
        const ev = await torch.evaluate(g.prompts, obj);
        const err = Math.max(...want.map((w, b) => Math.abs(ev.f[b]! - w) / scale));
        worstF = Math.max(worstF, err);
        expect(err, `latent ${latent}: f vs the library's acts`).toBeLessThan(1e-5);
        const [gr, ref] = await Promise.all([torch.gradients(g.prompts, lambdas, obj, 8, { full: true }), wasm.gradients(g.prompts, lambdas, obj, 8, { full: true })]);
        expect(scaledMaxDiff(gr.f, ev.f), `latent ${latent}: gradients' f`).toBeLessThan(1e-6);
        expect(scaledMaxDiff(gr.f, ref.f), `latent ${latent}: f vs wasm`).toBeLessThan(1e-5);
        const gradErr = scaledMaxDiff(gr.grads!, ref.grads!);
        worstGrad = Math.max(worstGrad, gradErr);
        expect(gradErr, `latent ${latent}: gradient vs wasm`).toBeLessThan(1e-4);
        // Prefix reuse: children of the golden prompts edited at 0, 1 and n-1, as computed in full.
        const [full, reused] = await Promise.all([torch.evaluate(children, obj), torch.evaluate(children, obj, { prefix: hint })]);
        expect(scaledMaxDiff(reused.f, full.f), `latent ${latent}: prefix hint`).toBeLessThan(1e-5);
      }
      if (process.env['SAE_REPORT']) process.stderr.write(`${g.sae}: latents ${latents}: f ${worstF.toExponential(2)}, grad ${worstGrad.toExponential(2)}\n`);
    }, 300_000);
  }

  it("sends a TopK SAE's whole encoder once per process, and again after the process evicted it", async () => {
    const g = goldens.find((x) => readSae(saePath(x.sae)).activation.kind === 'topk')!;
    const [torch] = await enginesFor(g.model);
    const sae = readSae(saePath(g.sae));
    const tap = g.tap ?? g.hook!;
    const encoderBytes = sae.wEnc.byteLength;
    const sent = async (obj: SaeObjective) => {
      const before = torch.wireBytes.sent;
      const ev = await torch.evaluate(g.prompts, obj);
      return { bytes: torch.wireBytes.sent - before, f: ev.f };
    };
    const a = await sent(saeObjective(sae, 0, tap));
    const b = await sent(saeObjective(sae, 1, tap)); // the same encoder: not sent again
    expect(b.bytes).toBeLessThan(encoderBytes);
    // Five other encoders (each a copy with one entry changed: another content key) push it out of the process.
    for (let i = 0; i < 5; i++) {
      const copy: SaeWeights = { ...sae, wEnc: Float32Array.from(sae.wEnc), bEnc: Float32Array.from(sae.bEnc) };
      copy.wEnc[i] = copy.wEnc[i]! + 1;
      expect((await sent(saeObjective(copy, 0, tap))).bytes).toBeGreaterThan(encoderBytes);
    }
    const again = await sent(saeObjective(sae, 0, tap)); // evicted: E_ARRAY_UNKNOWN, then sent again
    expect(again.bytes).toBeGreaterThan(encoderBytes);
    expect(again.f).toEqual(a.f);
  }, 300_000);
});

/** Children of `parents` with one token changed at 0, 1 and n-1, and the prefix hint that says so. */
function edited(parents: number[][], V: number): { children: number[][]; hint: PrefixHint } {
  const n = parents[0]!.length;
  const children: number[][] = [];
  const hint: PrefixHint = { parents, parentOf: [], from: [] };
  let seed = 7;
  for (const p of [0, 1, n - 1]) {
    parents.forEach((parent, j) => {
      const child = [...parent];
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      child[p] = (child[p]! + 1 + (seed % (V - 3))) % V;
      children.push(child);
      hint.parentOf.push(j);
      hint.from.push(p);
    });
  }
  return { children, hint };
}
