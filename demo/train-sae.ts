// Trains a small ReLU sparse autoencoder on the demo model's residual stream and writes it in SAELens's on-disk
// layout (cfg.json in SAELens 6's metadata layout + sae_weights.safetensors, F32) to demo/sae/, so that
// `sae:demo/sae#<latent>` names one of its latents (docs/objectives.md; bench/sae-quality.ts measures EPO on it).
// Activations: the tap `resid_post.L` (SAELens's blocks.L.hook_resid_post) at the last token of n-token windows of
// the training shards (stride s), exactly what the `sae` objective reads from an n-token prompt; read with the
// tfjs engine's `taps`. Training: x is divided by one scalar (its RMS distance from the mean, per dimension) so
// that the L1 coefficient does not depend on the residual's scale; the factor is folded back into the weights when
// saving (W_enc / c, W_dec * c, b_dec * c), so the saved SAE reads raw activations with normalize_activations
// none and encodes exactly what was trained. Loss: mean over the batch of |x - x_hat|^2 + l1 * sum_i f_i, decoder
// rows held at unit norm after every step, Adam, seeded. Reports the fraction of variance explained and L0 on
// held-out windows. Usage: npm run demo:train-sae [-- --layer 1 --d-sae 512 --l1 1.5 --epochs 20 --out demo/sae]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { corpusWindows } from '../core/corpus/windows.js';
import { withBos } from '../core/model/bos.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { writeSafetensors } from '../core/model/safetensors.js';
import { Rng } from '../core/rng.js';
import { DEMO_DIR, DEMO_MODEL_DIR, HELDOUT_SHARD, TRAIN_SHARDS } from './data.js';
import { matMulTrain } from './training/model.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: DEMO_MODEL_DIR },
    backend: { type: 'string', default: 'wasm' },
    layer: { type: 'string', default: '1' },
    'd-sae': { type: 'string', default: '512' },
    'seq-len': { type: 'string', default: '12' },
    stride: { type: 'string', default: '8' },
    'max-windows': { type: 'string', default: '60000' },
    l1: { type: 'string', default: '1.5' },
    lr: { type: 'string', default: '0.002' },
    epochs: { type: 'string', default: '20' },
    'batch-size': { type: 'string', default: '512' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: join(DEMO_DIR, 'sae') },
  },
});
const layer = Number(args.layer);
const dSae = Number(args['d-sae']);
const n = Number(args['seq-len']);
const l1 = Number(args.l1);
const epochs = Number(args.epochs);
const batchSize = Number(args['batch-size']);
const seed = Number(args.seed);
const tap = `resid_post.${layer}`;
const log = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const t0 = performance.now();
const seconds = () => Number(((performance.now() - t0) / 1000).toFixed(1));

const engine = withBos(await TfjsEngine.load(args.model, { backend: args.backend }));
const d = engine.shape.dModel;

/** The tap at the last token of every n-token window (stride `stride`) of `shards`, up to `max` windows: [N, d]. */
async function activations(shards: string[], stride: number, max: number): Promise<Float32Array> {
  const chunks: Float32Array[] = [];
  let batch: number[][] = [];
  let count = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    chunks.push((await engine.taps(batch, [tap], { ce: false })).values[tap]!);
    count += batch.length;
    batch = [];
  };
  for await (const w of corpusWindows(
    shards.map((uri) => ({ uri })),
    engine.tokenizer,
    { n, stride },
  )) {
    batch.push(w.ids);
    if (batch.length === 1024) await flush();
    if (count + batch.length >= max) break;
  }
  await flush();
  const out = new Float32Array(count * d);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const train = await activations(TRAIN_SHARDS, Number(args.stride), Number(args['max-windows']));
const heldout = await activations([HELDOUT_SHARD], n, Number.MAX_SAFE_INTEGER);
const N = train.length / d;
log({ step: 'activations', tap, windows: N, heldoutWindows: heldout.length / d, seconds: seconds() });

// The scale: the RMS per dimension of x - mean over the training activations.
const mean = new Float64Array(d);
for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) mean[j]! += train[i * d + j]! / N;
let ss = 0;
for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) ss += (train[i * d + j]! - mean[j]!) ** 2;
const scale = Math.sqrt(ss / (N * d));
const scaled = train.map((v) => v / scale);

// Init: decoder rows random unit vectors (seeded), the encoder their transpose, b_dec the mean, b_enc 0.
const rng = Rng.seeded(seed);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
const dec0 = new Float32Array(dSae * d);
for (let i = 0; i < dSae; i++) {
  let norm = 0;
  for (let j = 0; j < d; j++) norm += (dec0[i * d + j] = gauss()) ** 2;
  for (let j = 0; j < d; j++) dec0[i * d + j]! /= Math.sqrt(norm);
}
const wDec = tf.variable(tf.tensor2d(dec0, [dSae, d]), true, 'W_dec');
const wEnc = tf.variable(tf.transpose(wDec), true, 'W_enc');
const bEnc = tf.variable(tf.zeros([dSae]), true, 'b_enc');
const bDec = tf.variable(tf.tensor1d(Float32Array.from(mean, (m) => m / scale)), true, 'b_dec');
const vars = [wEnc, wDec, bEnc, bDec];

const encode = (x: tf.Tensor2D) => tf.relu(tf.add(matMulTrain(tf.sub(x, bDec), wEnc), bEnc)) as tf.Tensor2D;
const decode = (f: tf.Tensor2D) => tf.add(matMulTrain(f, wDec), bDec) as tf.Tensor2D;

const optimizer = tf.train.adam(Number(args.lr), 0.9, 0.999);
const order = Array.from({ length: N }, (_, i) => i);
const steps = Math.floor(N / batchSize);
const fires = new Float64Array(dSae);
let statsOut: tf.Tensor[] = [];
for (let epoch = 0; epoch < epochs; epoch++) {
  for (let i = N - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let [mse, l1sum, l0] = [0, 0, 0];
  if (epoch === epochs - 1) fires.fill(0);
  for (let s = 0; s < steps; s++) {
    const rows = new Float32Array(batchSize * d);
    for (let b = 0; b < batchSize; b++) rows.set(scaled.subarray(order[s * batchSize + b]! * d, (order[s * batchSize + b]! + 1) * d), b * d);
    const x = tf.tensor2d(rows, [batchSize, d]);
    // The L1 coefficient ramps up over the first epoch, so latents settle before the penalty bites.
    const coef = l1 * Math.min(1, (epoch * steps + s + 1) / steps);
    const parts = optimizer.minimize(
      () => {
        const f = encode(x);
        const err = tf.mean(tf.sum(tf.square(tf.sub(decode(f), x)), 1));
        const pen = tf.mean(tf.sum(f, 1));
        const fired = tf.sum(tf.cast(tf.greater(f, 0), 'float32'), 0);
        const stats = [err, pen, fired].map((t) => tf.keep(t));
        statsOut = stats;
        return tf.add(err, tf.mul(pen, coef)) as tf.Scalar;
      },
      false,
      vars,
    );
    parts?.dispose();
    const [err, pen, fired] = statsOut;
    const firedV = fired!.dataSync();
    mse += err!.dataSync()[0]!;
    l1sum += pen!.dataSync()[0]!;
    for (let k = 0; k < dSae; k++) {
      l0 += firedV[k]! / batchSize;
      if (epoch === epochs - 1) fires[k]! += firedV[k]!;
    }
    tf.dispose([x, ...statsOut]);
    // Unit-norm decoder rows.
    tf.tidy(() => wDec.assign(tf.div(wDec, tf.norm(wDec, 2, 1, true))));
  }
  log({ epoch, mse: Number((mse / steps / d).toFixed(4)), l1: Number((l1sum / steps).toFixed(3)), l0: Number((l0 / steps).toFixed(2)), seconds: seconds() });
}
// Held-out quality, on raw activations through the saved (folded) weights' maths.
const H = heldout.length / d;
const [fve, l0Held, liveHeld] = tf.tidy(() => {
  const x = tf.div(tf.tensor2d(heldout, [H, d]), scale) as tf.Tensor2D;
  const f = encode(x);
  const err = tf.sum(tf.square(tf.sub(decode(f), x)));
  const total = tf.sum(tf.square(tf.sub(x, tf.mean(x, 0))));
  const active = tf.cast(tf.greater(f, 0), 'float32');
  return [1 - err.dataSync()[0]! / total.dataSync()[0]!, tf.sum(active).dataSync()[0]! / H, tf.sum(tf.cast(tf.greater(tf.sum(active, 0), 0), 'float32')).dataSync()[0]!];
});
const deadTrain = [...fires].filter((c) => c === 0).length;

// Fold the scale back: the saved SAE reads raw x.
const host = (v: tf.Variable) => v.dataSync() as Float32Array;
const tensors = {
  W_enc: { shape: [d, dSae], data: host(wEnc).map((v) => v / scale), dtype: 'F32' as const },
  W_dec: { shape: [dSae, d], data: host(wDec).map((v) => v * scale), dtype: 'F32' as const },
  b_enc: { shape: [dSae], data: host(bEnc).slice(), dtype: 'F32' as const },
  b_dec: { shape: [d], data: host(bDec).map((v) => v * scale), dtype: 'F32' as const },
};
mkdirSync(args.out, { recursive: true });
writeSafetensors(join(args.out, 'sae_weights.safetensors'), tensors);
const cfg = {
  d_in: d,
  d_sae: dSae,
  dtype: 'float32',
  device: 'cpu',
  apply_b_dec_to_input: true,
  normalize_activations: 'none',
  reshape_activations: 'none',
  metadata: {
    model_name: 'dreamsweep-demo',
    hook_name: `blocks.${layer}.hook_resid_post`,
    hook_head_index: null,
    context_size: n,
    prepend_bos: false,
    seqpos_slice: [n - 1, null],
    model_from_pretrained_kwargs: {},
  },
  architecture: 'standard',
};
writeFileSync(join(args.out, 'cfg.json'), `${JSON.stringify(cfg, null, 2)}\n`);
const quality = {
  tap,
  hookName: cfg.metadata.hook_name,
  dIn: d,
  dSae,
  trainWindows: N,
  heldoutWindows: H,
  settings: { seqLen: n, stride: Number(args.stride), l1, lr: Number(args.lr), epochs, batchSize, seed, inputScale: Number(scale.toFixed(5)) },
  heldout: { fractionVarianceExplained: Number(fve.toFixed(4)), l0: Number(l0Held.toFixed(2)), liveLatents: liveHeld },
  deadLatentsLastEpoch: deadTrain,
  seconds: seconds(),
  backend: engine.backend,
};
writeFileSync(join(args.out, 'training.json'), `${JSON.stringify(quality, null, 2)}\n`);
log(quality);
engine.dispose();
tf.dispose(vars);
