// The demo model's quality numbers for docs/demo.md: held-out cross-entropy (12- and 32-token windows) next
// to the unigram entropy, grammatical vs shuffled windows, and a few sampled stories. Prints JSON lines.
// Usage: npm run demo:evaluate [-- --model demo/model --backend wasm]
import { parseArgs } from 'node:util';
import { withBos } from '../core/model/bos.js';
import { TfjsEngine } from '../core/model/tfjs-engine.js';
import { Rng } from '../core/rng.js';
import { DEMO_MODEL_DIR, EOS_ID, HELDOUT_SHARD, packStream, readTexts, TRAIN_SHARDS } from './data.js';
import { measureQuality, unigramCrossEntropy } from './quality.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: DEMO_MODEL_DIR },
    backend: { type: 'string', default: 'wasm' },
    samples: { type: 'string', default: '4' },
  },
});
const engine = withBos(await TfjsEngine.load(args.model, { backend: args.backend }));
const heldout = packStream(await readTexts([HELDOUT_SHARD]), engine.tokenizer);
const train = packStream(await readTexts(TRAIN_SHARDS), engine.tokenizer);
const log = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const round = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toFixed(4)) : v]));

log({ heldoutTokens: heldout.length, unigramCrossEntropyFromTrain: Number(unigramCrossEntropy(train, heldout, engine.shape.dVocab).toFixed(4)) });
for (const seqLen of [12, 32]) log(round(await measureQuality(engine, heldout, { seqLen, maxWindows: Infinity, seed: 0 })));

// Samples: temperature 1 from <|endoftext|>, context capped at 32 tokens (the training window).
const rng = Rng.seeded(0);
for (let s = 0; s < Number(args.samples); s++) {
  const ids = [EOS_ID];
  while (ids.length < 48) {
    const ctx = ids.slice(-32);
    const logits = (await engine.taps([ctx], ['logits'], { ce: false })).values['logits']!;
    const max = logits.reduce((a, b) => Math.max(a, b), -Infinity);
    const p = Array.from(logits, (l) => Math.exp(l - max));
    let u = rng.float() * p.reduce((a, b) => a + b, 0);
    let next = 0;
    while (next < p.length - 1 && (u -= p[next]!) > 0) next++;
    ids.push(next);
  }
  log({ sample: engine.tokenizer.decode(ids.slice(1)) });
}
engine.dispose();
