"""Golden numbers for the newer model families (issue #28), from Hugging Face transformers (float32, eager attention).

For each fixture written by family_fixtures.py this writes test/fixtures/golden/<name>.json in the format of
engine_golden.py (whose helpers it uses: same prompts rule, objectives, lambdas, rounding, CE and one-hot gradients),
plus:
  - `family`: the registry key (gpt2, llama, qwen2, qwen3, mistral);
  - `taps`: at the last token, for every layer L, resid_pre.L (input of block L; resid_pre.<nLayers> is the input of
    the final norm), resid_post.L (output of block L), mlp_post.L (the input of the MLP's output projection, c_proj or
    down_proj: act(gate(x)) * up(x) for gated MLPs) and mlp_out.L (the MLP's output, before the residual add);
  - `texts[i].ids_special`: the ids with the tokenizer's post-processing (add_special_tokens=True) beside `ids`;
  - `bos`: the id the tokenizer's post-processor puts first, or null.
Prompts are 3 x 6 random ids in [2, tokenizer vocabulary); with a BOS tokenizer, position 0 is the BOS id (so a
prompt is BOS + 5 tokens). The one-hot gradient is taken through inputs_embeds = one_hot @ W_E (GPT-2 adds its
learned positions inside the model). Logits, gradients and the logit objective's "other tokens" run over the model's
whole vocabulary (config.vocab_size, which is padded beyond the tokenizer's for tiny-qwen2-bf16).

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
from engine_golden import LAMBDAS, N_PROMPTS, N_TOKENS, TEXTS, mean_ce, objective_value, one_hot_ce, position_ce, r  # noqa: E402
from family_fixtures import FIXTURES, MODELS, ROOT, TOKENIZERS  # noqa: E402

OUT = ROOT / "test" / "fixtures" / "golden"
# Beyond engine_golden's texts: case-insensitive contractions, digit runs and a BOS written as text (the Llama 3 and
# Qwen pre-tokenizer patterns split these differently from GPT-2's).
EXTRA_TEXTS = [
    "DON'T stop: it's 1234567 o'CLOCK, we'LL see\r\n\r\nok",
    "<|begin_of_text|>Hello <s> world</s>",
]


def parts(model):
    """The modules the taps hook, by family: (decoder layers, final norm, [(mlp, its output projection)])."""
    base = model.base_model
    layers = base.h if hasattr(base, "h") else base.layers
    norm = base.ln_f if hasattr(base, "ln_f") else base.norm
    mlps = [(b.mlp, b.mlp.c_proj if hasattr(b.mlp, "c_proj") else b.mlp.down_proj) for b in layers]
    return layers, norm, mlps


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
    _, norm, mlps = parts(model)
    # transformers' last hidden state is the final norm's output; resid_pre.<n> is its input.
    torch.testing.assert_close(hs[n], norm(taps[f"resid_pre.{n}"]), rtol=0, atol=0)
    for i, (mlp, proj) in enumerate(mlps):
        torch.testing.assert_close(proj(taps[f"mlp_post.{i}"]), taps[f"mlp_out.{i}"], rtol=0, atol=0)


def prompts(name, V_tok, bos):
    rng = np.random.default_rng(sum(map(ord, name)))  # as engine_golden.py
    ids = rng.integers(2, V_tok, size=(N_PROMPTS, N_TOKENS))
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
    ids, rng = prompts(name, V_tok, bos)
    vec = rng.standard_normal(d)
    vec = (vec / np.linalg.norm(vec)).astype(np.float32)
    objectives = [
        {"kind": "resid", "layer": 1, "vector": vec.tolist()},
        {"kind": "neuron", "layer": n_layers - 1, "index": 5},
        {"kind": "logit", "token": 42},
    ]

    with torch.no_grad():
        out, taps = run_with_taps(model, input_ids=ids)
        self_check(model, out, taps)
        logits = out.logits
        ce = mean_ce(logits, ids)
    assert logits.shape == (N_PROMPTS, N_TOKENS, V)
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
                   "ids_special": tok.encode(t, add_special_tokens=True).ids} for t in TEXTS + EXTRA_TEXTS],
    }
    W_E = model.get_input_embeddings().weight
    for obj in objectives:
        grads = {}
        for key, targets_differentiated in (("grads", True), ("grads_embed", False)):
            one_hot = F.one_hot(ids, V).to(torch.float32).requires_grad_(True)
            out, taps_oh = run_with_taps(model, inputs_embeds=one_hot @ W_E)
            # The one-hot path computes what the ids path does (to float rounding).
            torch.testing.assert_close(out.logits.detach(), logits, rtol=1e-5, atol=1e-5)
            f = objective_value(obj, taps_oh, out.logits)
            ce = one_hot_ce(out.logits, one_hot if targets_differentiated else one_hot.detach())
            (f - torch.tensor(LAMBDAS) * ce).sum().backward()
            grads[key] = one_hot.grad
        result["objectives"].append({
            "objective": obj,
            "f": r(f.detach()),
            "ce": r(ce.detach()),
            "grads": r(grads["grads"], 6),
            "grads_embed": r(grads["grads_embed"], 6),
        })
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result) + "\n")
    print(f"{name}: wrote {OUT / (name + '.json')}")


if __name__ == "__main__":
    torch.manual_seed(0)
    for name, spec in FIXTURES.items():
        golden(name, spec)
