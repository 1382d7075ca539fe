// Qwen 2 / 2.5: transformers' Qwen2ForCausalLM, a Llama with biases on q, k and v (none on the output or the MLP).
import { evenHeadDim, llamaFamily, qwenWindow } from './llama.js';

export const qwen2 = llamaFamily({
  key: 'qwen2',
  architecture: 'Qwen2ForCausalLM',
  modelType: 'qwen2',
  biases: () => ({ qkvBias: true, attnOutBias: false, mlpBias: false }),
  qkNorm: false,
  headDim: evenHeadDim,
  kvHeads: () => 32,
  window: qwenWindow,
});
