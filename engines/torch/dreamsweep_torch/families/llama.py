"""Llama and the families that share its checkpoint layout: transformers' LlamaForCausalLM, Qwen2ForCausalLM
(q/k/v biases), Qwen3ForCausalLM (per-head q/k RMSNorm), MistralForCausalLM. RMSNorm, serial residual, rotary
(llama3 scaling in the config), separate q/k/v projections (fused here as rows [q | k | v]) with grouped-query
heads, SwiGLU with gate and up fused as rows [gate | up], lm_head or tied to embed_tokens. Gemma's layout is this one
with other norm names and two more norms per layer (gemma.py)."""

from ..weights import Param, Source, concat_rows


def params(cfg, ln2="post_attention_layernorm", post_norms=(), qk_norm=None):
    """ln2: the HF name of the norm before the MLP; post_norms: (our name, HF name) of norms after attention and MLP;
    qk_norm: whether the q/k norms are listed (default: the config's qkNorm)."""
    d, M, V = cfg["dModel"], cfg["dMlp"], cfg["dVocab"]
    H, Hkv, dh = cfg["nHeads"], cfg["nKvHeads"], cfg["dHead"]
    unit = "zeros" if cfg.get("normPlusOne") else "ones"  # a norm's neutral weight: w, or (1 + w)
    qk_norm = cfg["qkNorm"] if qk_norm is None else qk_norm

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
            p(me + "ln2.weight", hf + ln2 + ".weight", [d], unit),
            Param(me + "mlp.fc_in.weight", (s(hf + "mlp.gate_proj.weight", [M, d]), s(hf + "mlp.up_proj.weight", [M, d])), concat_rows),
            p(me + "mlp.fc_out.weight", hf + "mlp.down_proj.weight", [d, M]),
        ]
        out += [p(me + ours + ".weight", hf + theirs + ".weight", [d], unit) for ours, theirs in post_norms]
        if cfg["qkvBias"]:
            qkv_bias = tuple(s(attn + f"{x}_proj.bias", [n], "zeros") for x, n in qkv)
            out.append(Param(me + "attn.qkv.bias", qkv_bias, concat_rows))
        if cfg["attnOutBias"]:
            out.append(p(me + "attn.out.bias", attn + "o_proj.bias", [d], "zeros"))
        if qk_norm:
            out += [p(me + f"attn.{x}_norm.weight", attn + f"{x}_norm.weight", [dh], unit) for x in ("q", "k")]
        if cfg["mlpBias"]:
            gate_up_bias = (s(hf + "mlp.gate_proj.bias", [M], "zeros"), s(hf + "mlp.up_proj.bias", [M], "zeros"))
            out.append(Param(me + "mlp.fc_in.bias", gate_up_bias, concat_rows))
            out.append(p(me + "mlp.fc_out.bias", hf + "mlp.down_proj.bias", [d], "zeros"))
    out.append(p("ln_f.weight", "model.norm.weight", [d], unit))
    if not cfg["tieEmbeddings"]:
        out.append(p("W_U", "lm_head.weight", [V, d]))
    return out
