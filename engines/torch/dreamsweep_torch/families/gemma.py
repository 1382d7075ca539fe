"""Gemma 2 and Gemma 3 (text): transformers' Gemma2ForCausalLM, Gemma3ForCausalLM. The Llama layout (separate
q/k/v projections fused here as rows [q | k | v], grouped-query heads, gate and up fused as rows [gate | up]) plus
four norms per layer: input_layernorm (ln1), post_attention_layernorm (after attention, before the residual add),
pre_feedforward_layernorm (ln2), post_feedforward_layernorm (after the MLP); Gemma 3's q_norm / k_norm. Every norm
is x * rsqrt(mean(x^2) + eps) * (1 + w) (normPlusOne), so random_weights fills them with zeros. The unembedding is
tied to embed_tokens. What else differs (embedding scale, soft-capping, sliding layers, per-layer rotary) is in the
ModelConfig and blocks.py."""

from . import llama


def params(cfg):
    # The post norms and Gemma 3's q/k norms are listed whatever the config says: a config without postNorms (or
    # qkNorm on Gemma 3) is then refused by the model, so a config mistake shows.
    return llama.params(
        cfg,
        ln2="pre_feedforward_layernorm",
        post_norms=(("post_attn_norm", "post_attention_layernorm"), ("post_mlp_norm", "post_feedforward_layernorm")),
        qk_norm=cfg["qkNorm"] or cfg["family"] == "gemma3",
    )
