// Qwen 3: transformers' Qwen3ForCausalLM, a Llama with per-head RMSNorm of queries and keys before rotary, and a
// head_dim of its own (the config class defaults to 128, not hidden_size / heads).
import { llamaFamily, qwenWindow } from './llama.js';

export const qwen3 = llamaFamily({
  key: 'qwen3',
  architecture: 'Qwen3ForCausalLM',
  modelType: 'qwen3',
  biases: (c) => {
    const attn = c.bool('attention_bias', false);
    return { qkvBias: attn, attnOutBias: attn, mlpBias: false };
  },
  qkNorm: true,
  headDim: () => 128,
  kvHeads: () => 32,
  window: qwenWindow,
});
