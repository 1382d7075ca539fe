// Trains the demo model: a 4-layer Pythia-shaped GPT-NeoX (parallel residual, rotary 0.25, gelu, untied
// unembedding) on the demo corpus with the project's own tfjs code (demo/training), and writes it in the Hugging
// Face layout to demo/model/ (config.json, model.safetensors (F16), tokenizer.json is already there).
// Seeded: the same backend gives the same weights. Usage: npm run demo:train [-- --steps 900 --backend wasm]
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../core/model/backend.js';
import { parseModelConfig } from '../core/model/families/index.js';
import { writeSafetensors } from '../core/model/safetensors.js';
import { HfJsonTokenizer } from '../core/model/tokenizer.js';
import { hfConfigJson, initTrainable, toHfTensors, trainableVariables, type NeoXArchitecture } from './training/model.js';
import { consecutiveWindows, trainLM, TRAIN_DEFAULTS } from './training/train.js';
import { DEMO_MODEL_DIR, EOS_ID, HELDOUT_SHARD, packStream, readTexts, TRAIN_SHARDS } from './data.js';

/** The demo model's shape. */
export const DEMO_ARCHITECTURE: NeoXArchitecture = {
  dModel: 128,
  nHeads: 4,
  nLayers: 4,
  dVocab: 1024,
  dMlp: 512,
  rotaryPct: 0.25,
  maxPositions: 64,
  eosId: EOS_ID,
};

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    steps: { type: 'string', default: '900' },
    'batch-size': { type: 'string', default: String(TRAIN_DEFAULTS.batchSize) },
    'seq-len': { type: 'string', default: String(TRAIN_DEFAULTS.seqLen) },
    lr: { type: 'string', default: String(TRAIN_DEFAULTS.lr) },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: DEMO_MODEL_DIR },
  },
});

const backend = await initBackend(args.backend);
const tokenizer = HfJsonTokenizer.fromFile(join(DEMO_MODEL_DIR, 'tokenizer.json'));
const train = packStream(await readTexts(TRAIN_SHARDS), tokenizer);
const heldout = packStream(await readTexts([HELDOUT_SHARD]), tokenizer);
const options = {
  ...TRAIN_DEFAULTS,
  steps: Number(args.steps),
  batchSize: Number(args['batch-size']),
  seqLen: Number(args['seq-len']),
  lr: Number(args.lr),
  seed: Number(args.seed),
  evalEvery: 100,
};
const evalWindows = consecutiveWindows(heldout, options.seqLen, 512);
const cfg = parseModelConfig(hfConfigJson(DEMO_ARCHITECTURE));
const model = initTrainable(cfg, options.seed);
const log = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
log({ backend, trainTokens: train.length, heldoutTokens: heldout.length, options });

const t0 = performance.now();
let recent = 0;
const { finalCE } = await trainLM(model, train, options, evalWindows, (e) => {
  if (e.kind === 'eval') log({ step: e.step, heldoutCE: Number(e.ce.toFixed(4)), minutes: Number(((performance.now() - t0) / 60000).toFixed(2)) });
  else {
    recent += e.loss;
    if ((e.step + 1) % 25 === 0) {
      log({ step: e.step + 1, loss: Number((recent / 25).toFixed(4)), lr: Number(e.lr.toExponential(2)), secondsPerStep: Number(e.seconds.toFixed(3)) });
      recent = 0;
    }
  }
});
const seconds = (performance.now() - t0) / 1000;

const dtype = 'F16';
mkdirSync(args.out, { recursive: true });
writeFileSync(join(args.out, 'config.json'), `${JSON.stringify(hfConfigJson(DEMO_ARCHITECTURE, dtype), null, 2)}\n`);
writeSafetensors(join(args.out, 'model.safetensors'), toHfTensors(model, dtype));
if (args.out !== DEMO_MODEL_DIR) copyFileSync(join(DEMO_MODEL_DIR, 'tokenizer.json'), join(args.out, 'tokenizer.json'));
writeFileSync(
  join(args.out, 'training.json'),
  `${JSON.stringify({ backend, seconds: Math.round(seconds), trainTokens: train.length, tokensSeen: options.steps * options.batchSize * options.seqLen, options, heldoutCE: finalCE }, null, 2)}\n`,
);
log({ done: true, seconds: Math.round(seconds), heldoutCE: finalCE, out: args.out });
for (const v of trainableVariables(model)) v.dispose();
