"""GPT-2: transformers' GPT2LMHeadModel. Learned positions (wpe), LayerNorm, serial residual, gelu_new, Conv1D
weights stored [in, out] (transposed here; c_attn's columns are q, k, v, each all heads), names with or without
the `transformer.` prefix (original vs re-saved checkpoints), lm_head tied to wte and usually absent."""

from ..weights import Param, Source, transpose


def params(cfg):
    d, M, V, H, dh = cfg["dModel"], cfg["dMlp"], cfg["dVocab"], cfg["nHeads"], cfg["dHead"]

    def p(target, name, shape, init="normal", convert=None):
        return Param(target, (Source(("transformer." + name, name), tuple(shape), init),), convert)

    out = [p("W_E", "wte.weight", [V, d]), p("W_pos", "wpe.weight", [cfg["nCtx"], d])]
    for l in range(cfg["nLayers"]):
        hf, me = f"h.{l}.", f"blocks.{l}."
        out += [
            p(me + "ln1.weight", hf + "ln_1.weight", [d], "ones"),
            p(me + "ln1.bias", hf + "ln_1.bias", [d], "zeros"),
            p(me + "attn.qkv.weight", hf + "attn.c_attn.weight", [d, 3 * H * dh], convert=transpose),
            p(me + "attn.qkv.bias", hf + "attn.c_attn.bias", [3 * H * dh], "zeros"),
            p(me + "attn.out.weight", hf + "attn.c_proj.weight", [H * dh, d], convert=transpose),
            p(me + "attn.out.bias", hf + "attn.c_proj.bias", [d], "zeros"),
            p(me + "ln2.weight", hf + "ln_2.weight", [d], "ones"),
            p(me + "ln2.bias", hf + "ln_2.bias", [d], "zeros"),
            p(me + "mlp.fc_in.weight", hf + "mlp.c_fc.weight", [d, M], convert=transpose),
            p(me + "mlp.fc_in.bias", hf + "mlp.c_fc.bias", [M], "zeros"),
            p(me + "mlp.fc_out.weight", hf + "mlp.c_proj.weight", [M, d], convert=transpose),
            p(me + "mlp.fc_out.bias", hf + "mlp.c_proj.bias", [d], "zeros"),
        ]
    out += [p("ln_f.weight", "ln_f.weight", [d], "ones"), p("ln_f.bias", "ln_f.bias", [d], "zeros")]
    if not cfg["tieEmbeddings"]:
        out.append(Param("W_U", (Source(("lm_head.weight",), (V, d)),)))
    return out
