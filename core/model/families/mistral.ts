// Mistral: transformers' MistralForCausalLM, a Llama without any bias; sliding_window (transformers' default
// 4096; null in recent releases) bounds the sequence length instead of masking (see llama.ts).
import { evenHeadDim, llamaFamily } from './llama.js';

export const mistral = llamaFamily({
  key: 'mistral',
  architecture: 'MistralForCausalLM',
  modelType: 'mistral',
  biases: () => ({ qkvBias: false, attnOutBias: false, mlpBias: false }),
  qkNorm: false,
  headDim: evenHeadDim,
  kvHeads: () => 8,
  window: (c) => ('sliding_window' in c.raw ? (c.raw['sliding_window'] === null ? undefined : c.int('sliding_window')) : 4096),
});
