// GPT-2: transformers' GPT2LMHeadModel. Learned positions (wpe), LayerNorm, serial residual, gelu_new, Conv1D
// weights stored [in, out] (c_attn packs q | k | v), lm_head tied and usually absent. Names with or without the
// `transformer.` prefix (original checkpoints vs re-saved ones).
import type { ConfigReader, ModelConfig } from '../config.js';
import { asIs, getter, linearsT, type Family, type HostWeights, type Tensors } from './family.js';

function parseConfig(c: ConfigReader): ModelConfig {
  const dModel = c.int('n_embd');
  const nHeads = c.int('n_head');
  if (dModel % nHeads !== 0) throw c.fail('n_embd', `(${dModel}) must be a multiple of n_head (${nHeads})`);
  c.only('scale_attn_weights', [true], 'dreamsweep scales attention scores by 1/sqrt(d_head)');
  c.only('scale_attn_by_inverse_layer_idx', [false], 'per-layer attention scaling is not supported');
  const nCtx = c.int('n_positions');
  return {
    family: 'gpt2',
    architecture: 'GPT2LMHeadModel',
    dModel,
    nHeads,
    nKvHeads: nHeads,
    dHead: dModel / nHeads,
    nLayers: c.int('n_layer'),
    dVocab: c.int('vocab_size'),
    dMlp: c.int('n_inner', 4 * dModel),
    normalization: 'LN',
    eps: c.positive('layer_norm_epsilon', 1e-5),
    positional: 'learned',
    nCtx,
    rotaryDim: 0,
    rotaryBase: 10000,
    act: c.act('activation_function', 'gelu_new', ['gelu_new', 'gelu']),
    gatedMlp: false,
    parallelAttnMlp: false,
    qkvBias: true,
    attnOutBias: true,
    mlpBias: true,
    qkNorm: false,
    tieEmbeddings: c.bool('tie_word_embeddings', true),
    maxPositions: nCtx,
  };
}

/** '' or 'transformer.', whichever the checkpoint's names use. */
function prefix(names: ReadonlySet<string>): string {
  return names.has('transformer.wte.weight') ? 'transformer.' : '';
}

function tensors(cfg: ModelConfig, names: ReadonlySet<string>): Map<string, number[]> {
  const { dModel: d, dMlp, dVocab: V } = cfg;
  const P = prefix(names);
  const m = new Map<string, number[]>([
    [`${P}wte.weight`, [V, d]],
    [`${P}wpe.weight`, [cfg.nCtx!, d]],
  ]);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `${P}h.${l}.`;
    for (const ln of ['ln_1', 'ln_2']) {
      m.set(`${p}${ln}.weight`, [d]);
      m.set(`${p}${ln}.bias`, [d]);
    }
    m.set(`${p}attn.c_attn.weight`, [d, 3 * d]); // Conv1D: [in, out]
    m.set(`${p}attn.c_attn.bias`, [3 * d]);
    m.set(`${p}attn.c_proj.weight`, [d, d]);
    m.set(`${p}attn.c_proj.bias`, [d]);
    m.set(`${p}mlp.c_fc.weight`, [d, dMlp]);
    m.set(`${p}mlp.c_fc.bias`, [dMlp]);
    m.set(`${p}mlp.c_proj.weight`, [dMlp, d]);
    m.set(`${p}mlp.c_proj.bias`, [d]);
  }
  m.set(`${P}ln_f.weight`, [d]);
  m.set(`${P}ln_f.bias`, [d]);
  // Tied: the unembedding is W_E whatever the file holds besides (transformers ties lm_head to the embedding).
  if (!cfg.tieEmbeddings) m.set('lm_head.weight', [V, d]);
  return m;
}

function weights(cfg: ModelConfig, ts: Tensors): HostWeights {
  const get = getter(ts);
  const P = prefix(new Set(ts.keys()));
  const t = (name: string) => asIs(get(`${P}${name}`));
  const norm = (name: string) => ({ w: t(`${name}.weight`), b: t(`${name}.bias`) });
  const blocks = Array.from({ length: cfg.nLayers }, (_, l) => {
    const p = `h.${l}.`;
    // Conv1D weights are [in, out] already; c_attn's columns are q | k | v, each head-major: the shared layout.
    return {
      ln1: norm(`${p}ln_1`),
      ln2: norm(`${p}ln_2`),
      wQKV: t(`${p}attn.c_attn.weight`),
      bQKV: t(`${p}attn.c_attn.bias`),
      wO: t(`${p}attn.c_proj.weight`),
      bO: t(`${p}attn.c_proj.bias`),
      wIn: t(`${p}mlp.c_fc.weight`),
      bIn: t(`${p}mlp.c_fc.bias`),
      wOut: t(`${p}mlp.c_proj.weight`),
      bOut: t(`${p}mlp.c_proj.bias`),
    };
  });
  const head = cfg.tieEmbeddings ? undefined : get('lm_head.weight');
  return {
    wE: t('wte.weight'),
    wPos: t('wpe.weight'),
    blocks,
    lnFinal: norm('ln_f'),
    ...(head ? { wU: linearsT(head) } : {}),
  };
}

export const gpt2: Family = { key: 'gpt2', architecture: 'GPT2LMHeadModel', modelType: 'gpt2', parseConfig, tensors, weights };
