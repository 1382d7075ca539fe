"""Gemma 2 and Gemma 3 (text): transformers' Gemma2ForCausalLM, Gemma3ForCausalLM. The Llama layout (separate
q/k/v projections fused here as rows [q | k | v], grouped-query heads, gate and up fused as rows [gate | up]) plus
four norms per layer: input_layernorm (ln1), post_attention_layernorm (after attention, before the residual add),
pre_feedforward_layernorm (ln2), post_feedforward_layernorm (after the MLP); Gemma 3's q_norm / k_norm. Every norm
is x * rsqrt(mean(x^2) + eps) * (1 + w) (normPlusOne), so random_weights fills them with zeros. The unembedding is
tied to embed_tokens. What else differs (embedding scale, soft-capping, sliding layers, per-layer rotary) is in the
ModelConfig and blocks.py."""

from ..weights import Param, Source, concat_rows


def params(cfg):
    d, M, V = cfg["dModel"], cfg["dMlp"], cfg["dVocab"]
    H, Hkv, dh = cfg["nHeads"], cfg["nKvHeads"], cfg["dHead"]
    unit = "zeros" if cfg.get("normPlusOne") else "ones"  # a norm's neutral weight

    def s(name, shape, init="normal"):
        return Source((name,), tuple(shape), init)

    def p(target, name, shape, init="normal"):
        return Param(target, (s(name, shape, init),))

    qkv = (("q", H * dh), ("k", Hkv * dh), ("v", Hkv * dh))  # projection, rows
    out = [p("W_E", "model.embed_tokens.weight", [V, d])]
    for l in range(cfg["nLayers"]):
        hf, me = f"model.layers.{l}.", f"blocks.{l}."
        attn = hf + "self_attn."
        out += [
            p(me + "ln1.weight", hf + "input_layernorm.weight", [d], unit),
            Param(me + "attn.qkv.weight", tuple(s(attn + f"{x}_proj.weight", [n, d]) for x, n in qkv), concat_rows),
            p(me + "attn.out.weight", attn + "o_proj.weight", [d, H * dh]),
            p(me + "ln2.weight", hf + "pre_feedforward_layernorm.weight", [d], unit),
            Param(me + "mlp.fc_in.weight", (s(hf + "mlp.gate_proj.weight", [M, d]), s(hf + "mlp.up_proj.weight", [M, d])), concat_rows),
            p(me + "mlp.fc_out.weight", hf + "mlp.down_proj.weight", [d, M]),
            # Listed whatever the config says: without postNorms the model refuses them (a config mistake shows).
            p(me + "post_attn_norm.weight", hf + "post_attention_layernorm.weight", [d], unit),
            p(me + "post_mlp_norm.weight", hf + "post_feedforward_layernorm.weight", [d], unit),
        ]
        if cfg["qkvBias"]:
            out.append(Param(me + "attn.qkv.bias", tuple(s(attn + f"{x}_proj.bias", [n], "zeros") for x, n in qkv), concat_rows))
        if cfg["attnOutBias"]:
            out.append(p(me + "attn.out.bias", attn + "o_proj.bias", [d], "zeros"))
        if cfg["qkNorm"] or cfg["family"] == "gemma3":  # Gemma 3 has them: a config without qkNorm is refused
            out += [p(me + f"attn.{x}_norm.weight", attn + f"{x}_norm.weight", [dh], unit) for x in ("q", "k")]
    out.append(p("ln_f.weight", "model.norm.weight", [d], unit))
    if not cfg["tieEmbeddings"]:
        out.append(p("W_U", "lm_head.weight", [V, d]))
    return out
