"""Golden numbers for the newer model families (issue #28), from Hugging Face transformers (float32, eager attention).

For each fixture written by family_fixtures.py this writes test/fixtures/golden/<name>.json in the format of
engine_golden.py (whose helpers it uses: same prompts rule, objectives, lambdas, rounding, CE and one-hot gradients),
plus:
  - `family`: the registry key (gpt2, llama, qwen2, qwen3, mistral, gemma2, gemma3);
  - `taps`: at the last token, for every layer L, resid_pre.L (input of block L; resid_pre.<nLayers> is the input of
    the final norm), resid_post.L (output of block L), mlp_post.L (the input of the MLP's output projection, c_proj or
    down_proj: act(gate(x)) * up(x) for gated MLPs) and mlp_out.L (the MLP's output, before the residual add);
  - `texts[i].ids_special`: the ids with the tokenizer's post-processing (add_special_tokens=True) beside `ids`;
  - `bos`: the id the tokenizer's post-processor puts first, or null.
Prompts are 3 x 6 random ids in [2, tokenizer vocabulary); with a BOS tokenizer, position 0 is the BOS id (so a
prompt is BOS + 5 tokens); the Gemma fixtures have 10-token prompts (`tokens`), longer than their sliding windows,
and mlp_out.L after the post-feedforward norm. The one-hot gradient is taken through inputs_embeds = one_hot @ W_E
(times Gemma's sqrt(d); GPT-2 adds its learned positions inside the model). Logits, gradients and the logit
objective's "other tokens" run over the model's whole vocabulary (config.vocab_size, which is padded beyond the
tokenizer's for tiny-qwen2-bf16).

Every tap is checked against the model's own output_hidden_states where they overlap, and the one-hot path against
the input_ids path.

Usage: python scripts/golden/family_golden.py [repo_root]   (after family_fixtures.py; needs requirements.txt)
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_golden import LAMBDAS, N_PROMPTS, N_TOKENS, TEXTS, golden_objectives, mean_ce, objective_records, position_ce, r  # noqa: E402
from family_fixtures import FIXTURES, MODELS, ROOT, SAE_FIXTURES, SAES, TOKENIZERS  # noqa: E402

OUT = ROOT / "test" / "fixtures" / "golden"
# Beyond engine_golden's texts: case-insensitive contractions, digit runs and a BOS written as text (the Llama 3 and
# Qwen pre-tokenizer patterns split these differently from GPT-2's).
EXTRA_TEXTS = [
    "DON'T stop: it's 1234567 o'CLOCK, we'LL see\r\n\r\nok",
    "<|begin_of_text|>Hello <s> world</s>",
]


def parts(model):
    """The modules the taps hook, by family: (decoder layers, final norm, [(mlp_out's module, the MLP's output
    projection)]). mlp_out is the MLP's output, or for Gemma that of the post-feedforward norm after it."""
    base = model.base_model
    layers = base.h if hasattr(base, "h") else base.layers
    norm = base.ln_f if hasattr(base, "ln_f") else base.norm
    mlps = [(b.post_feedforward_layernorm if hasattr(b, "post_feedforward_layernorm") else b.mlp,
             b.mlp.c_proj if hasattr(b.mlp, "c_proj") else b.mlp.down_proj) for b in layers]
    return layers, norm, mlps


def embed(model, one_hot):
    """inputs_embeds for a one-hot: one_hot @ W_E, times the embedding scale where the embedding module applies one
    (Gemma's sqrt(d), cast to the weights' dtype as transformers does; inputs_embeds bypass that module)."""
    emb = model.get_input_embeddings()
    x = one_hot @ emb.weight
    scale = getattr(emb, "embed_scale", None)
    return x if scale is None else x * scale.to(emb.weight.dtype)


def run_with_taps(model, **inputs):
    """Forward pass recording resid_pre, resid_post, mlp_post and mlp_out for every layer (full sequences)."""
    layers, norm, mlps = parts(model)
    n = len(layers)
    taps, hooks = {}, []
    first = lambda x: x[0] if isinstance(x, tuple) else x  # noqa: E731
    for i, layer in enumerate(layers):
        hooks.append(layer.register_forward_pre_hook(
            lambda m, args, kwargs, i=i: taps.__setitem__(f"resid_pre.{i}", args[0] if args else kwargs["hidden_states"]),
            with_kwargs=True))
        hooks.append(layer.register_forward_hook(lambda m, args, out, i=i: taps.__setitem__(f"resid_post.{i}", first(out))))
        mlp, proj = mlps[i]
        hooks.append(proj.register_forward_pre_hook(lambda m, args, i=i: taps.__setitem__(f"mlp_post.{i}", args[0])))
        hooks.append(mlp.register_forward_hook(lambda m, args, out, i=i: taps.__setitem__(f"mlp_out.{i}", first(out))))
    hooks.append(norm.register_forward_pre_hook(lambda m, args: taps.__setitem__(f"resid_pre.{n}", args[0])))
    try:
        out = model(**inputs, output_hidden_states=True)
    finally:
        for h in hooks:
            h.remove()
    return out, taps


def self_check(model, out, taps):
    """The taps against the model's own hidden states and each other."""
    n = model.config.num_hidden_layers
    hs = out.hidden_states
    assert len(hs) == n + 1, len(hs)
    for i in range(n):
        torch.testing.assert_close(hs[i], taps[f"resid_pre.{i}"], rtol=0, atol=0)
        torch.testing.assert_close(taps[f"resid_post.{i}"], taps[f"resid_pre.{i + 1}"], rtol=0, atol=0)
    layers, norm, mlps = parts(model)
    # transformers' last hidden state is the final norm's output; resid_pre.<n> is its input.
    torch.testing.assert_close(hs[n], norm(taps[f"resid_pre.{n}"]), rtol=0, atol=0)
    for i, (out_module, proj) in enumerate(mlps):
        mlp_out = proj(taps[f"mlp_post.{i}"])
        if out_module is not layers[i].mlp:
            mlp_out = out_module(mlp_out)  # Gemma's post-feedforward norm
        torch.testing.assert_close(mlp_out, taps[f"mlp_out.{i}"], rtol=0, atol=0)


def gemma_reference(model, ids, sliding_window=None, softcaps=True):
    """Gemma 2 / 3 forward pass written out from the facts an engine needs (float32), for gemma_checks:
    embeddings times sqrt(d) (float32 here), RMSNorm x * rsqrt(mean(x^2) + eps) * (1 + w), post-attention and
    post-feedforward norms before the residual adds, q/k norms (Gemma 3) before rotary (NeoX halves), rotary base and
    scaling per layer type, scores times query_pre_attn_scalar^-0.5, attention soft-capping tanh(s / c) * c before the
    mask, causal mask plus, on sliding layers, key j visible from query i iff i - W < j <= i (W keys including the
    query's own), GeGLU down(gelu_tanh(gate(x)) * up(x)), final norm, tied unembedding, final soft-capping."""
    cfg = model.config
    sd = model.state_dict()
    d, H, KV, hd = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    W = sliding_window or cfg.sliding_window
    B, T = ids.shape

    def norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg.rms_norm_eps) * (1 + w)

    def rotate(x, cos, sin):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat((-x2, x1), -1) * sin

    E = sd["model.embed_tokens.weight"]
    x = E[ids] * torch.tensor(d ** 0.5, dtype=torch.float32)
    qi, kj = torch.arange(T)[:, None], torch.arange(T)[None, :]
    for i, kind in enumerate(cfg.layer_types):
        rope = cfg.rope_parameters.get(kind, cfg.rope_parameters)  # Gemma 3: one per layer type
        inv = 1.0 / rope["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
        if rope["rope_type"] == "linear":
            inv = inv / rope["factor"]
        else:
            assert rope["rope_type"] == "default", rope
        ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None]
        cos, sin = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()
        p = f"model.layers.{i}."
        h = norm(x, sd[p + "input_layernorm.weight"])
        q = (h @ sd[p + "self_attn.q_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
        k = (h @ sd[p + "self_attn.k_proj.weight"].T).view(B, T, KV, hd).transpose(1, 2)
        v = (h @ sd[p + "self_attn.v_proj.weight"].T).view(B, T, KV, hd).transpose(1, 2)
        if p + "self_attn.q_norm.weight" in sd:
            q, k = norm(q, sd[p + "self_attn.q_norm.weight"]), norm(k, sd[p + "self_attn.k_norm.weight"])
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)  # query head h: kv h // (H/KV)
        s = q @ k.transpose(-1, -2) * cfg.query_pre_attn_scalar ** -0.5
        if softcaps and cfg.attn_logit_softcapping:
            s = torch.tanh(s / cfg.attn_logit_softcapping) * cfg.attn_logit_softcapping
        visible = kj <= qi
        if kind == "sliding_attention":
            visible = visible & (kj > qi - W)
        s = s.masked_fill(~visible, -torch.inf)
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * hd) @ sd[p + "self_attn.o_proj.weight"].T
        x = x + norm(o, sd[p + "post_attention_layernorm.weight"])
        h = norm(x, sd[p + "pre_feedforward_layernorm.weight"])
        gate = F.gelu(h @ sd[p + "mlp.gate_proj.weight"].T, approximate="tanh")
        m = (gate * (h @ sd[p + "mlp.up_proj.weight"].T)) @ sd[p + "mlp.down_proj.weight"].T
        x = x + norm(m, sd[p + "post_feedforward_layernorm.weight"])
    logits = norm(x, sd["model.norm.weight"]) @ E.T
    if softcaps and cfg.final_logit_softcapping:
        logits = torch.tanh(logits / cfg.final_logit_softcapping) * cfg.final_logit_softcapping
    return logits


def gemma_checks(name, model, ids, logits, taps):
    """Gemma: resid_pre.0 is the scaled embedding (and transformers' hidden_states[0], by self_check); the written-out
    forward pass above matches transformers; the sliding window and the soft-capping change the golden logits."""
    cfg = model.config
    emb = model.get_input_embeddings()
    assert emb.embed_scale.item() == torch.tensor(cfg.hidden_size ** 0.5, dtype=torch.float32).item()
    torch.testing.assert_close(taps["resid_pre.0"], emb.weight[ids] * emb.embed_scale, rtol=0, atol=0)
    torch.testing.assert_close(gemma_reference(model, ids), logits, rtol=1e-4, atol=1e-4)
    effects = {}
    path = MODELS / name
    for label, overrides in (("window", {"sliding_window": 10 ** 6}),
                             ("attn_softcap", {"attn_logit_softcapping": None}),
                             ("final_softcap", {"final_logit_softcapping": None})):
        if label != "window" and getattr(cfg, label.replace("attn_softcap", "attn_logit_softcapping")
                                         .replace("final_softcap", "final_logit_softcapping")) is None:
            continue
        other = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager",
                                                     **overrides).eval()
        with torch.no_grad():
            changed = other(input_ids=ids).logits
        diff = (changed - logits).abs()
        effects[label] = (diff[:, -1].max().item(), diff.max().item())
        assert diff[:, -1].max().item() > 0.05, (name, label, "does not change the last logits", diff.max().item())
    # The written-out forward agrees on what the window means: one key more or less changes the last logits.
    with torch.no_grad():
        for W in (cfg.sliding_window - 1, cfg.sliding_window + 1):
            assert (gemma_reference(model, ids, sliding_window=W) - logits)[:, -1].abs().max() > 0.05, W
    print(f"{name}: max |change| of the last / all logits without: "
          + ", ".join(f"{k} {a:.3g} / {b:.3g}" for k, (a, b) in effects.items()))


def prompts(name, V_tok, bos, n_tokens=N_TOKENS):
    rng = np.random.default_rng(sum(map(ord, name)))  # as engine_golden.py
    ids = rng.integers(2, V_tok, size=(N_PROMPTS, n_tokens))
    if bos is not None:
        ids[:, 0] = bos
    return torch.tensor(ids, dtype=torch.long), rng


def golden(name, spec):
    path = MODELS / name
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    cfg = model.config
    n_layers, V, d = cfg.num_hidden_layers, cfg.vocab_size, cfg.hidden_size
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    V_tok = tok.get_vocab_size()
    bos_token = TOKENIZERS[spec["tokenizer"]]["bos"]
    bos = tok.token_to_id(bos_token) if bos_token else None
    probe = tok.encode("x", add_special_tokens=True).ids
    assert (probe[0] if len(probe) == 2 else None) == bos, (probe, bos)
    n_tokens = spec.get("tokens", N_TOKENS)
    ids, rng = prompts(name, V_tok, bos, n_tokens)
    objectives = golden_objectives(rng, d, n_layers)

    with torch.no_grad():
        out, taps = run_with_taps(model, input_ids=ids)
        self_check(model, out, taps)
        logits = out.logits
        ce = mean_ce(logits, ids)
    assert logits.shape == (N_PROMPTS, n_tokens, V)
    if spec.get("gemma"):
        gemma_checks(name, model, ids, logits, taps)
    result = {
        "model": name,
        "family": spec["family"],
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "bos": bos,
        "prompts": ids.tolist(),
        "logits_last": r(logits[:, -1]),
        "ce": r(ce),
        "ce_positions": r(position_ce(logits, ids)),
        "taps": {k: r(v[:, -1]) for k, v in sorted(taps.items())},
        "lambdas": LAMBDAS,
        "objectives": [],
        "texts": [{"text": t,
                   "ids": tok.encode(t, add_special_tokens=False).ids,
                   "ids_special": tok.encode(t, add_special_tokens=True).ids}
                  for t in TEXTS + EXTRA_TEXTS + TOKENIZERS[spec["tokenizer"]].get("extra_texts", [])],
    }
    def forward(one_hot):
        out, taps_oh = run_with_taps(model, inputs_embeds=embed(model, one_hot))
        # The one-hot path computes what the ids path does (to float rounding).
        torch.testing.assert_close(out.logits.detach(), logits, rtol=1e-5, atol=1e-5)
        return out.logits, taps_oh

    result["objectives"] = objective_records(objectives, ids, V, forward)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result) + "\n")
    print(f"{name}: wrote {OUT / (name + '.json')}")


def sae_golden(name, model_name, tap):
    """test/fixtures/golden/sae-<name minus the hook>.json: the JumpReLU activations of every latent at the last token
    of each of the model's golden prompts, as Gemma Scope's reference encoder computes them (no b_dec subtracted):
    pre = x @ W_enc + b_enc; acts = relu(pre) * (pre > threshold); plus x, pre and the reconstruction
    acts @ W_dec + b_dec."""
    spec = FIXTURES[model_name]
    path = MODELS / model_name
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    bos = tok.token_to_id(TOKENIZERS[spec["tokenizer"]]["bos"])
    ids, _ = prompts(model_name, tok.get_vocab_size(), bos, spec.get("tokens", N_TOKENS))
    golden_prompts = json.loads((OUT / f"{model_name}.json").read_text())["prompts"]
    assert ids.tolist() == golden_prompts
    with torch.no_grad():
        _, taps = run_with_taps(model, input_ids=ids)
    x = taps[tap][:, -1]
    p = {k: torch.from_numpy(v) for k, v in np.load(SAES / name / "params.npz").items()}
    pre = x @ p["W_enc"] + p["b_enc"]
    acts = torch.relu(pre) * (pre > p["threshold"])
    firing = (acts > 0).float().mean().item()
    assert 0.2 < firing < 0.8, (name, firing)
    result = {
        "sae": name, "model": model_name, "hook": tap, "format": "gemma-scope params.npz",
        "encoder": "pre = x @ W_enc + b_enc; acts = relu(pre) * (pre > threshold)",
        "prompts": ids.tolist(), "x": r(x), "pre": r(pre), "acts": r(acts),
        "reconstruction": r(acts @ p["W_dec"] + p["b_dec"]),
        "firing": [int(c) for c in (acts > 0).sum(-1)],
    }
    out = OUT / f"sae-{name.rsplit('-', 1)[0]}.json"
    out.write_text(json.dumps(result) + "\n")
    print(f"{name}: {firing:.0%} of the latents fire; wrote {out}")


if __name__ == "__main__":
    torch.manual_seed(0)
    for name, spec in FIXTURES.items():
        golden(name, spec)
    for name, (model_name, tap, _, _) in SAE_FIXTURES.items():
        sae_golden(name, model_name, tap)
