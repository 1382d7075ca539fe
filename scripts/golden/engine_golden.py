"""Golden numbers for the tfjs engine, from Hugging Face transformers (GPTNeoXForCausalLM, float32, eager attention).

For each fixture checkpoint under test/fixtures/models/<name>/ this writes test/fixtures/golden/<name>.json:
prompts, last-position logits, per-prompt cross-entropy, every resid_pre/mlp_post tap at the last token, and for
three objectives (resid, neuron, logit) f, CE and the gradient of sum_i (f_i - lambda_i * CE_i) with respect to
the one-hot tokens x. The one-hot is differentiated everywhere it appears, as the paper's code (dreamy's token_grads)
does: through the embeddings (x @ W_E) and as CE's targets (CE = -mean_i sum_v x[i, v] log_softmax(logits[i-1])[v]).
The second term, +lambda/(n-1) * log p(v | tokens before i) at each position i >= 1 (<= 0, nearest 0 for probable
tokens), is what pulls EPO's candidates toward probable tokens; `grads_embed` holds the gradient through the embeddings alone, so a test can check that term.
It also records the ids Python `tokenizers` gives for a few texts, so the JS tokenizer can be checked against it.

Usage: python scripts/golden/engine_golden.py [repo_root]   (needs requirements.txt installed)
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import GPTNeoXForCausalLM

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
MODELS = ROOT / "test" / "fixtures" / "models"
OUT = ROOT / "test" / "fixtures" / "golden"
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Fluent dreaming: 12 layers, café, naïve — 2024!",
    "  spaces\tand\nnewlines <|endoftext|> end",
]
N_PROMPTS, N_TOKENS = 3, 6
LAMBDAS = [0.1, 1.0, 5.0]


def r(x, digits=7):
    """Nested lists of floats rounded to `digits` significant digits (keeps the JSON small)."""
    a = np.asarray(x, dtype=np.float64)
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"), otypes=[object])(a).tolist() if a.size else a.tolist()


def run_with_taps(model, n_layers, **inputs):
    """Forward pass recording resid_pre.L (inputs of each layer and of the final norm) and mlp_post.L."""
    taps = {}
    hooks = []
    for i, layer in enumerate(model.gpt_neox.layers):
        hooks.append(layer.register_forward_pre_hook(
            lambda m, args, kwargs, i=i: taps.__setitem__(f"resid_pre.{i}", (args[0] if args else kwargs["hidden_states"])),
            with_kwargs=True))
        hooks.append(layer.mlp.dense_4h_to_h.register_forward_pre_hook(
            lambda m, args, i=i: taps.__setitem__(f"mlp_post.{i}", args[0])))
    hooks.append(model.gpt_neox.final_layer_norm.register_forward_pre_hook(
        lambda m, args: taps.__setitem__(f"resid_pre.{n_layers}", args[0])))
    try:
        out = model(**inputs)
    finally:
        for h in hooks:
            h.remove()
    return out.logits, taps


def position_ce(logits, ids):
    """Next-token cross-entropy at positions 1..n-1: [B, n-1]."""
    B, n, V = logits.shape
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), reduction="none")
    return ce.view(B, n - 1)


def mean_ce(logits, ids):
    return position_ce(logits, ids).mean(-1)


def one_hot_ce(logits, one_hot):
    """Mean next-token CE with the (differentiable) one-hot as targets: [B]."""
    return -(torch.log_softmax(logits[:, :-1], dim=-1) * one_hot[:, 1:]).sum(-1).mean(-1)


def objective_value(obj, taps, logits):
    if obj["kind"] == "resid":
        x = taps[f"resid_pre.{obj['layer']}"][:, -1]
        z = (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)  # unbiased std, as dreamy
        return z @ torch.tensor(obj["vector"], dtype=torch.float32)
    if obj["kind"] == "neuron":
        return taps[f"mlp_post.{obj['layer']}"][:, -1, obj["index"]]
    last = logits[:, -1]
    others = last.clone()
    others[:, obj["token"]] = -torch.inf
    return last[:, obj["token"]] - others.max(-1).values


def golden_objectives(rng, d, n_layers):
    """The three objectives every golden checks: a random unit direction at resid_pre.1 (drawn from rng after the
    prompts), neuron 5 of the last layer, and token 42's logit."""
    vec = rng.standard_normal(d)
    vec = (vec / np.linalg.norm(vec)).astype(np.float32)
    return [
        {"kind": "resid", "layer": 1, "vector": vec.tolist()},
        {"kind": "neuron", "layer": n_layers - 1, "index": 5},
        {"kind": "logit", "token": 42},
    ]


def objective_records(objectives, ids, V, forward):
    """For each objective: f, CE and the gradient of sum_i (f_i - lambda_i * CE_i) in the one-hot tokens, through the
    embeddings and CE's targets (`grads`) and through the embeddings alone (`grads_embed`). forward(one_hot) ->
    (logits, taps) runs the model on the one-hot's embeddings (also used by family_golden.py)."""
    records = []
    for obj in objectives:
        grads = {}
        for key, targets_differentiated in (("grads", True), ("grads_embed", False)):
            one_hot = F.one_hot(ids, V).to(torch.float32).requires_grad_(True)
            logits, taps = forward(one_hot)
            f = objective_value(obj, taps, logits)
            ce = one_hot_ce(logits, one_hot if targets_differentiated else one_hot.detach())
            (f - torch.tensor(LAMBDAS) * ce).sum().backward()
            grads[key] = one_hot.grad
        records.append({
            "objective": obj,
            "f": r(f.detach()),
            "ce": r(ce.detach()),
            "grads": r(grads["grads"], 6),
            "grads_embed": r(grads["grads_embed"], 6),
        })
    return records


def golden(name):
    path = MODELS / name
    model = GPTNeoXForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    cfg = model.config
    n_layers, V, d = cfg.num_hidden_layers, cfg.vocab_size, cfg.hidden_size
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    rng = np.random.default_rng(sum(map(ord, name)))  # stable across runs (unlike hash())
    ids = torch.tensor(rng.integers(2, tok.get_vocab_size(), size=(N_PROMPTS, N_TOKENS)), dtype=torch.long)
    objectives = golden_objectives(rng, d, n_layers)

    with torch.no_grad():
        logits, taps = run_with_taps(model, n_layers, input_ids=ids)
        ce = mean_ce(logits, ids)
    result = {
        "model": name,
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "prompts": ids.tolist(),
        "logits_last": r(logits[:, -1]),
        "ce": r(ce),
        "ce_positions": r(position_ce(logits, ids)),
        "taps": {k: r(v[:, -1]) for k, v in sorted(taps.items())},
        "lambdas": LAMBDAS,
        "objectives": [],
        "texts": [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in TEXTS],
    }
    W_E = model.gpt_neox.embed_in.weight
    result["objectives"] = objective_records(objectives, ids, V, lambda one_hot: run_with_taps(model, n_layers, inputs_embeds=one_hot @ W_E))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result) + "\n")
    print(f"{name}: wrote {OUT / (name + '.json')}")


if __name__ == "__main__":
    torch.manual_seed(0)
    # The GPT-NeoX fixtures; the other families' are family_golden.py's.
    for d in sorted(p.name for p in MODELS.iterdir() if (p / "config.json").exists()):
        if json.loads((MODELS / d / "config.json").read_text()).get("model_type") == "gpt_neox":
            golden(d)
