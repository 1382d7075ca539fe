"""Tiny SAEs written by the SAE libraries themselves, and their golden activations (issue #30).

For each entry of SAELENS / SPARSIFY this writes
  - test/fixtures/saes/<name>/: the SAE as its library saves it
      SAELens: cfg.json + sae_weights.safetensors (SAE.save_model), loaded back with SAE.load_from_disk;
      sparsify: <hookpoint>/cfg.json + <hookpoint>/sae.safetensors (SparseCoder.save_to_disk into the directory named
      after the hookpoint, as sparsify's trainer does), loaded back with SparseCoder.load_from_disk;
  - test/fixtures/golden/sae-<name>.json: at the last token of the fixture model's golden prompts (the `prompts` of
    test/fixtures/golden/<model>.json), `x` = the tap as transformers computes it (family_golden.run_with_taps:
    resid_pre.L = decoder layer L's input, resid_post.L its output, mlp_out.L the MLP module's output), and `acts` =
    the library's own encode(x) for every latent (from the SAE as loaded back from disk), with `pre` (the linear
    pre-activation, before any activation function), `sae_in` (the input after normalisation and b_dec), `reconstruction`
    (the library's decode) and `firing` (latents > 0 per prompt).

Weights: seeded; W_dec unit rows, W_enc = W_dec^T + noise, small biases. JumpReLU thresholds: the median of each
latent's pre-activation over 16 random prompts (at least 0.05), so about half the latents fire. Every golden entry
keeps a margin (1e-3 of the largest |pre|) from each decision boundary (0, the threshold, the k-th/k+1-th value), so
that float32 differences cannot flip a latent; a seed that fails this is replaced by the next one (deterministically).

SAELens writes hook_name under `metadata` (6.x). The entries with layout "v5" get their cfg.json rewritten to the
top-level layout SAELens 5.x wrote (SAEConfig.to_dict of sae-lens 5.11.0: hook_name, hook_layer, activation_fn_str,
activation_fn_kwargs {k} for TopK, sae_lens_training_version 5.11.0); SAE.load_from_disk reads it through its
pre-6.0 conversion, and the script checks that it loads to the same encoder as the 6.x file.

Usage: python scripts/golden/sae_fixtures.py   (after family_fixtures.py / family_golden.py; needs the SAE section of
requirements.txt). Deterministic: a rerun writes the same bytes.
"""

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_golden import N_TOKENS, r  # noqa: E402
from family_fixtures import FIXTURES, MODELS, SAES, TOKENIZERS  # noqa: E402
from family_golden import OUT, prompts, run_with_taps  # noqa: E402

import sae_lens  # noqa: E402
import sparsify  # noqa: E402
from sae_lens import (  # noqa: E402
    SAE, JumpReLUSAE, JumpReLUSAEConfig, StandardSAE, StandardSAEConfig, TopKSAE, TopKSAEConfig)
from sae_lens.saes.sae import SAEMetadata  # noqa: E402
from sparsify import SparseCoder, SparseCoderConfig  # noqa: E402

# name -> model, tap (dreamsweep's name), architecture, d_sae, seed, ... ; layout: "v6" (hook_name under metadata, as
# the installed SAELens writes it) or "v5" (cfg.json rewritten to the top-level layout of SAELens 5.x).
SAELENS = {
    "saelens-standard-tiny-llama3-resid_pre.1": dict(
        model="tiny-llama3", tap="resid_pre.1", arch="standard", d_sae=32, seed=31,
        apply_b_dec_to_input=True, normalize="none", layout="v5"),
    "saelens-jumprelu-tiny-gpt2-resid_post.0": dict(
        model="tiny-gpt2", tap="resid_post.0", arch="jumprelu", d_sae=40, seed=32,
        apply_b_dec_to_input=False, normalize="none", layout="v6"),
    "saelens-topk-tiny-qwen3-mlp_out.1": dict(
        model="tiny-qwen3", tap="mlp_out.1", arch="topk", k=4, d_sae=48, seed=33,
        apply_b_dec_to_input=True, normalize="none", layout="v6"),
    "saelens-standard-layer_norm-tiny-gemma3-resid_post.2": dict(
        model="tiny-gemma3", tap="resid_post.2", arch="standard", d_sae=32, seed=34,
        apply_b_dec_to_input=True, normalize="layer_norm", layout="v6"),
    "saelens-topk-constant_norm_rescale-tiny-llama3-mlp_out.0": dict(
        model="tiny-llama3", tap="mlp_out.0", arch="topk", k=4, d_sae=32, seed=35,
        apply_b_dec_to_input=True, normalize="constant_norm_rescale", layout="v5"),
}
# sparsify: the hookpoint is the module path under model.base_model that sparsify's trainer hooks (its output).
SPARSIFY = {
    "sparsify-tiny-llama3-resid_post.0": dict(model="tiny-llama3", tap="resid_post.0", hookpoint="layers.0", k=4,
                                              d_sae=32, seed=36),
}
TL_HOOK = {"resid_pre": "hook_resid_pre", "resid_post": "hook_resid_post", "mlp_out": "hook_mlp_out"}
SAELENS_CLASSES = {"standard": (StandardSAE, StandardSAEConfig), "jumprelu": (JumpReLUSAE, JumpReLUSAEConfig),
                   "topk": (TopKSAE, TopKSAEConfig)}
MARGIN = 1e-3
ENCODERS = {
    "standard": "acts = relu(pre)",
    "jumprelu": "acts = relu(pre) * (pre > threshold)",
    "topk": "idx = topk(pre, k).indices (selection on the raw pre-activation); acts[idx] = relu(pre[idx]), else 0",
}
NORMALIZE = {
    "none": "x",
    "layer_norm": "(x - mean(x)) / (std(x) + 1e-5), std unbiased (N - 1), over d_in",
    "constant_norm_rescale": "x * sqrt(d_in) / ||x||_2",
}


def hook_name(tap):
    site, layer = tap.split(".")
    return f"blocks.{layer}.{TL_HOOK[site]}"


class Model:
    """A fixture model with its golden prompts and the taps at their last token, plus calibration taps."""

    def __init__(self, name):
        spec = FIXTURES[name]
        path = MODELS / name
        self.name = name
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        bos_token = TOKENIZERS[spec["tokenizer"]]["bos"]
        self.bos = tok.token_to_id(bos_token) if bos_token else None
        self.ids, _ = prompts(name, tok.get_vocab_size(), self.bos, spec.get("tokens", N_TOKENS))
        golden = json.loads((OUT / f"{name}.json").read_text())
        assert self.ids.tolist() == golden["prompts"], name
        with torch.no_grad():
            _, taps = run_with_taps(self.model, input_ids=self.ids)
        self.x = {k: v[:, -1].contiguous() for k, v in taps.items()}
        for k, v in self.x.items():  # the same numbers as the model's golden file (to its rounding)
            np.testing.assert_allclose(v.numpy(), np.array(golden["taps"][k], dtype=np.float64), rtol=1e-5, atol=1e-5)
        self.d_in = self.model.config.hidden_size
        self.vocab = tok.get_vocab_size()

    def calibration(self, tap, seed):
        """The tap at every position after the first of 16 random prompts of 10 tokens (BOS first where the model
        has one)."""
        g = torch.Generator().manual_seed(seed)
        ids = torch.randint(2, self.vocab, (16, 10), generator=g)
        if self.bos is not None:
            ids[:, 0] = self.bos
        with torch.no_grad():
            _, taps = run_with_taps(self.model, input_ids=ids)
        return taps[tap][:, 1:].reshape(-1, self.d_in)


def weights(d_in, d_sae, g):
    W_dec = torch.randn(d_sae, d_in, generator=g)
    W_dec = W_dec / W_dec.norm(dim=1, keepdim=True)
    W_enc = W_dec.T + 0.3 * torch.randn(d_in, d_sae, generator=g) / math.sqrt(d_in)
    b_enc = 0.1 * torch.randn(d_sae, generator=g)
    b_dec = 0.1 * torch.randn(d_in, generator=g)
    return W_enc.contiguous(), W_dec, b_enc, b_dec


def margin_ok(pre, arch, k=None, threshold=None):
    """Whether every entry of pre ([B, d_sae]) keeps MARGIN * max|pre| away from the boundaries that decide it."""
    eps = MARGIN * pre.abs().max().item()
    if arch == "standard":
        return bool((pre.abs() > eps).all())
    if arch == "jumprelu":
        return bool(((pre - threshold).abs() > eps).all() and (threshold >= 0).all())
    s = pre.sort(dim=-1, descending=True).values
    return bool((s[:, k - 1] - s[:, k] > eps).all() and (s[:, :k].abs() > eps).all())


def saelens_cfg(spec, d_in):
    cls, cfg_cls = SAELENS_CLASSES[spec["arch"]]
    metadata = SAEMetadata(model_name=spec["model"], hook_name=hook_name(spec["tap"]), hook_head_index=None,
                           context_size=16,
                           prepend_bos=TOKENIZERS[FIXTURES[spec["model"]]["tokenizer"]]["bos"] is not None,
                           seqpos_slice=(None,), model_from_pretrained_kwargs={})
    extra = {"k": spec["k"]} if spec["arch"] == "topk" else {}
    return cls, cfg_cls(d_in=d_in, d_sae=spec["d_sae"], dtype="float32", device="cpu",
                        apply_b_dec_to_input=spec["apply_b_dec_to_input"],
                        normalize_activations=spec["normalize"], metadata=metadata, **extra)


def v5_cfg(cfg6):
    """cfg.json as SAELens 5.x wrote it (sae-lens 5.11.0 SAEConfig.to_dict): everything at the top level."""
    md = cfg6["metadata"]
    topk = cfg6["architecture"] == "topk"
    return {
        "architecture": cfg6["architecture"],
        "d_in": cfg6["d_in"],
        "d_sae": cfg6["d_sae"],
        "dtype": cfg6["dtype"],
        "device": cfg6["device"],
        "model_name": md["model_name"],
        "hook_name": md["hook_name"],
        "hook_layer": int(md["hook_name"].split(".")[1]),
        "hook_head_index": None,
        "activation_fn_str": "topk" if topk else "relu",
        "activation_fn_kwargs": {"k": cfg6["k"]} if topk else {},
        "apply_b_dec_to_input": cfg6["apply_b_dec_to_input"],
        "finetuning_scaling_factor": False,
        "sae_lens_training_version": "5.11.0",
        "prepend_bos": md["prepend_bos"],
        "dataset_path": "",
        "dataset_trust_remote_code": True,
        "context_size": md["context_size"],
        "normalize_activations": cfg6["normalize_activations"],
        "neuronpedia_id": None,
        "model_from_pretrained_kwargs": {},
        "seqpos_slice": [None],
    }


def saelens_fixture(name, spec, model):
    tap, arch, d_sae = spec["tap"], spec["arch"], spec["d_sae"]
    x = model.x[tap]
    calib = model.calibration(tap, spec["seed"])
    cls, cfg = saelens_cfg(spec, model.d_in)
    for attempt in range(50):
        g = torch.Generator().manual_seed(spec["seed"] + 1000 * attempt)
        W_enc, W_dec, b_enc, b_dec = weights(model.d_in, d_sae, g)
        sae = cls(cfg)
        with torch.no_grad():
            sae.W_enc.copy_(W_enc), sae.W_dec.copy_(W_dec), sae.b_enc.copy_(b_enc), sae.b_dec.copy_(b_dec)
            if arch == "jumprelu":
                _, cache = sae.run_with_cache(calib)
                sae.threshold.copy_(cache["hook_sae_acts_pre"].median(dim=0).values.clamp(min=0.05))
            _, cache = sae.run_with_cache(x)
        pre = cache["hook_sae_acts_pre"]
        if margin_ok(pre, arch, spec.get("k"), getattr(sae, "threshold", None)):
            break
    else:
        raise AssertionError(f"{name}: no seed keeps the margin")

    out = SAES / name
    shutil.rmtree(out, ignore_errors=True)
    sae.save_model(out)  # SAELens' own writer: cfg.json + sae_weights.safetensors
    cfg6 = json.loads((out / "cfg.json").read_text())
    assert cfg6["metadata"]["hook_name"] == hook_name(tap) and "hook_name" not in cfg6, cfg6
    loaded6 = SAE.load_from_disk(out)
    if spec["layout"] == "v5":
        (out / "cfg.json").write_text(json.dumps(v5_cfg(cfg6)))
    loaded = SAE.load_from_disk(out)
    assert type(loaded) is cls and loaded.cfg.metadata.hook_name == hook_name(tap)
    assert loaded.cfg.normalize_activations == spec["normalize"]
    assert loaded.cfg.apply_b_dec_to_input == spec["apply_b_dec_to_input"]
    assert arch != "topk" or loaded.cfg.k == spec["k"]

    with torch.no_grad():
        recon, cache = loaded.run_with_cache(x)
        acts = loaded.encode(x)
        torch.testing.assert_close(acts, cache["hook_sae_acts_post"], rtol=0, atol=0)
        torch.testing.assert_close(acts, sae.encode(x), rtol=0, atol=0)
        torch.testing.assert_close(acts, loaded6.encode(x), rtol=0, atol=0)
        pre = cache["hook_sae_acts_pre"]
        sae_in = loaded.process_sae_in(x)
        # The formulas the golden states, written out, give the library's numbers.
        xn = {"none": lambda v: v,
              "layer_norm": lambda v: (v - v.mean(-1, keepdim=True)) / ((v - v.mean(-1, keepdim=True)).std(-1, keepdim=True) + 1e-5),
              "constant_norm_rescale": lambda v: v * math.sqrt(model.d_in) / v.norm(dim=-1, keepdim=True)}[spec["normalize"]](x)
        mine_in = xn - (loaded.b_dec if spec["apply_b_dec_to_input"] else 0)
        torch.testing.assert_close(sae_in, mine_in, rtol=1e-6, atol=1e-6)
        mine_pre = mine_in @ loaded.W_enc + loaded.b_enc
        torch.testing.assert_close(pre, mine_pre, rtol=1e-5, atol=1e-5)
        if arch == "standard":
            mine = torch.relu(pre)
        elif arch == "jumprelu":
            mine = torch.relu(pre) * (pre > loaded.threshold)
        else:
            top = pre.topk(spec["k"], dim=-1)
            mine = torch.zeros_like(pre).scatter(-1, top.indices, torch.relu(top.values))
        torch.testing.assert_close(acts, mine, rtol=0, atol=0)
    firing = (acts > 0).float().mean().item()
    assert (arch == "topk" and (acts > 0).sum(-1).eq(spec["k"]).all()) or 0.2 < firing < 0.8, (name, firing)
    files = {f.name: f.stat().st_size for f in sorted(out.iterdir())}
    golden = {
        "sae": name, "model": model.name, "tap": tap, "hook": tap, "library": "sae-lens", "library_version": sae_lens.__version__,
        "format": "sae-lens cfg.json + sae_weights.safetensors",
        "cfg_layout": ("hook_name at the top level (SAELens 5.x layout, rewritten)" if spec["layout"] == "v5"
                       else "hook_name under metadata (SAELens 6.x, as written)"),
        "hook_name": hook_name(tap), "architecture": arch, "d_in": model.d_in, "d_sae": d_sae,
        "k": spec.get("k"), "apply_b_dec_to_input": spec["apply_b_dec_to_input"],
        "normalize_activations": spec["normalize"],
        "encoder": (f"sae_in = normalize(x) - {'b_dec' if spec['apply_b_dec_to_input'] else '0'}; "
                    f"normalize(x) = {NORMALIZE[spec['normalize']]}; pre = sae_in @ W_enc + b_enc; {ENCODERS[arch]}"),
        "prompts": model.ids.tolist(), "x": r(x), "sae_in": r(sae_in), "pre": r(pre), "acts": r(acts),
        "reconstruction": r(recon), "firing": [int(c) for c in (acts > 0).sum(-1)],
    }
    return golden, files, firing


def sparsify_fixture(name, spec, model):
    tap, d_sae, k = spec["tap"], spec["d_sae"], spec["k"]
    x = model.x[tap]
    # sparsify's hookpoint is this module's output: check it is the tap.
    module = model.model.base_model.get_submodule(spec["hookpoint"])
    seen = {}
    hk = module.register_forward_hook(lambda m, a, o: seen.__setitem__("out", o[0] if isinstance(o, tuple) else o))
    with torch.no_grad():
        model.model(input_ids=model.ids)
    hk.remove()
    torch.testing.assert_close(seen["out"][:, -1], x, rtol=0, atol=0)
    cfg = SparseCoderConfig(activation="topk", num_latents=d_sae, k=k)
    for attempt in range(50):
        g = torch.Generator().manual_seed(spec["seed"] + 1000 * attempt)
        W_enc, W_dec, b_enc, b_dec = weights(model.d_in, d_sae, g)
        pre = (x - b_dec) @ W_enc + b_enc
        if margin_ok(pre, "topk", k):
            break
    else:
        raise AssertionError(f"{name}: no seed keeps the margin")
    torch.manual_seed(0)  # SparseCoder's own init (overwritten below)
    sae = SparseCoder(model.d_in, cfg, dtype=torch.float32)
    with torch.no_grad():
        sae.encoder.weight.copy_(W_enc.T), sae.encoder.bias.copy_(b_enc), sae.W_dec.copy_(W_dec)
        sae.b_dec.copy_(b_dec)
    out = SAES / name
    shutil.rmtree(out, ignore_errors=True)
    sae.save_to_disk(out / spec["hookpoint"])  # sparsify's own writer: cfg.json + sae.safetensors
    loaded = SparseCoder.load_from_disk(out / spec["hookpoint"])
    with torch.no_grad():
        top_acts, top_indices, pre_acts = loaded.encode(x)
        acts = torch.zeros(x.shape[0], d_sae).scatter(-1, top_indices, top_acts)
        recon = loaded.decode(top_acts, top_indices)
        sae_in = x - loaded.b_dec
        pre = F.linear(sae_in, loaded.encoder.weight, loaded.encoder.bias)
        torch.testing.assert_close(pre_acts, torch.relu(pre), rtol=0, atol=0)  # sparsify's pre_acts are post-ReLU
        top = torch.relu(pre).topk(k, dim=-1)
        torch.testing.assert_close(acts, torch.zeros_like(pre).scatter(-1, top.indices, top.values), rtol=0, atol=0)
    assert (acts > 0).sum(-1).eq(k).all()
    files = {f"{spec['hookpoint']}/{f.name}": f.stat().st_size for f in sorted((out / spec["hookpoint"]).iterdir())}
    golden = {
        "sae": name, "model": model.name, "tap": tap, "hook": tap, "library": "eai-sparsify",
        "library_version": sparsify.__version__,
        "format": "sparsify <hookpoint>/cfg.json + <hookpoint>/sae.safetensors",
        "hookpoint": spec["hookpoint"], "architecture": "topk", "d_in": model.d_in, "d_sae": d_sae, "k": k,
        "apply_b_dec_to_input": True, "normalize_activations": "none",
        "encoder": ("sae_in = x - b_dec; pre = sae_in @ encoder.weight^T + encoder.bias; "
                    "idx = topk(relu(pre), k).indices (ReLU first, then the selection); acts[idx] = relu(pre[idx]), else 0"),
        "prompts": model.ids.tolist(), "x": r(x), "sae_in": r(sae_in), "pre": r(pre), "acts": r(acts),
        "reconstruction": r(recon), "firing": [int(c) for c in (acts > 0).sum(-1)],
    }
    return golden, files, (acts > 0).float().mean().item()


def main():
    torch.manual_seed(0)  # SAELens initialises its parameters from the global generator before they are overwritten
    models = {}
    jobs = [(n, s, saelens_fixture) for n, s in SAELENS.items()] + [(n, s, sparsify_fixture) for n, s in SPARSIFY.items()]
    for name, spec, make in jobs:
        if spec["model"] not in models:
            models[spec["model"]] = Model(spec["model"])
        golden, files, firing = make(name, spec, models[spec["model"]])
        path = OUT / f"sae-{name}.json"
        path.write_text(json.dumps(golden) + "\n")
        sizes = {**files, path.name: path.stat().st_size}
        assert all(v < 100_000 for v in sizes.values()), sizes
        print(f"{name}: {firing:.0%} of the latents fire; {', '.join(f'{k} ({v} B)' for k, v in sizes.items())}")


if __name__ == "__main__":
    main()
