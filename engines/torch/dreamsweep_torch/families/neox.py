"""GPT-NeoX (Pythia): transformers' GPTNeoXForCausalLM. LayerNorm, parallel or serial residual, partial rotary,
one query_key_value per layer stored per head ([H, 3, dh] rows: q, k, v of head 0, then head 1, ...), biases on
attention (attention_bias) and the MLP, exact gelu, `embed_out` unembedding."""

from ..weights import Param, Source


def params(cfg):
    d, M, V, H, dh = cfg["dModel"], cfg["dMlp"], cfg["dVocab"], cfg["nHeads"], cfg["dHead"]

    def per_head_qkv(t):
        """[H*3*dh, ...] per head -> [3*H*dh, ...]: all q heads, all k, all v (the Attention's fused layout)."""
        return t.view(H, 3, dh, *t.shape[1:]).transpose(0, 1).reshape(3 * H * dh, *t.shape[1:]).contiguous()

    def p(target, name, shape, init="normal", convert=None):
        return Param(target, (Source((name,), tuple(shape), init),), convert)

    out = [p("W_E", "gpt_neox.embed_in.weight", [V, d])]
    for l in range(cfg["nLayers"]):
        hf, me = f"gpt_neox.layers.{l}.", f"blocks.{l}."
        out += [
            p(me + "ln1.weight", hf + "input_layernorm.weight", [d], "ones"),
            p(me + "ln1.bias", hf + "input_layernorm.bias", [d], "zeros"),
            p(me + "ln2.weight", hf + "post_attention_layernorm.weight", [d], "ones"),
            p(me + "ln2.bias", hf + "post_attention_layernorm.bias", [d], "zeros"),
            p(me + "attn.qkv.weight", hf + "attention.query_key_value.weight", [3 * H * dh, d], convert=per_head_qkv),
            p(me + "attn.out.weight", hf + "attention.dense.weight", [d, H * dh]),
            p(me + "mlp.fc_in.weight", hf + "mlp.dense_h_to_4h.weight", [M, d]),
            p(me + "mlp.fc_out.weight", hf + "mlp.dense_4h_to_h.weight", [d, M]),
        ]
        if cfg["qkvBias"]:
            out.append(p(me + "attn.qkv.bias", hf + "attention.query_key_value.bias", [3 * H * dh], "zeros", per_head_qkv))
        if cfg["attnOutBias"]:
            out.append(p(me + "attn.out.bias", hf + "attention.dense.bias", [d], "zeros"))
        if cfg["mlpBias"]:
            out += [
                p(me + "mlp.fc_in.bias", hf + "mlp.dense_h_to_4h.bias", [M], "zeros"),
                p(me + "mlp.fc_out.bias", hf + "mlp.dense_4h_to_h.bias", [d], "zeros"),
            ]
    out += [
        p("ln_f.weight", "gpt_neox.final_layer_norm.weight", [d], "ones"),
        p("ln_f.bias", "gpt_neox.final_layer_norm.bias", [d], "zeros"),
    ]
    if not cfg["tieEmbeddings"]:
        out.append(Param("W_U", (Source(("embed_out.weight", "lm_head.weight"), (V, d)),)))
    return out
