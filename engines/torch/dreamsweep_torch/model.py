"""GPT-NeoX in PyTorch (mirrors transformers' GPTNeoXForCausalLM and core/model/neox.ts): weights loaded from a
Hugging Face directory straight to the device in the compute dtype, or random weights of a given shape (bench).
The config arrives already parsed and checked by core/model/config.ts (TransformerLens names)."""

import json
import os
import struct

import torch
import torch.nn.functional as F


class EngineUserError(Exception):
    """A mistake the user can fix; reaches TypeScript as a UserError with this code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def expected_shapes(cfg):
    d, m, V = cfg["dModel"], cfg["dMlp"], cfg["dVocab"]
    shapes = {"gpt_neox.embed_in.weight": [V, d]}
    for l in range(cfg["nLayers"]):
        p = f"gpt_neox.layers.{l}."
        for ln in ("input_layernorm", "post_attention_layernorm"):
            shapes[p + ln + ".weight"] = [d]
            shapes[p + ln + ".bias"] = [d]
        shapes[p + "attention.query_key_value.weight"] = [3 * d, d]
        shapes[p + "attention.dense.weight"] = [d, d]
        if cfg["attentionBias"]:
            shapes[p + "attention.query_key_value.bias"] = [3 * d]
            shapes[p + "attention.dense.bias"] = [d]
        shapes[p + "mlp.dense_h_to_4h.weight"] = [m, d]
        shapes[p + "mlp.dense_h_to_4h.bias"] = [m]
        shapes[p + "mlp.dense_4h_to_h.weight"] = [d, m]
        shapes[p + "mlp.dense_4h_to_h.bias"] = [d]
    shapes["gpt_neox.final_layer_norm.weight"] = [d]
    shapes["gpt_neox.final_layer_norm.bias"] = [d]
    return shapes


_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def _header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)), 8 + n


def _load_file(path, names, device, dtype):
    """Tensors `names` of one safetensors file, on `device` in `dtype`. Uses the safetensors package when
    installed; a GPU node that has only torch reads the (simple) format itself."""
    try:
        from safetensors import safe_open
    except ImportError:
        safe_open = None
    out = {}
    if safe_open is not None:
        with safe_open(path, framework="pt", device="cpu") as f:
            for name in names:
                out[name] = f.get_tensor(name).to(device=device, dtype=dtype)
        return out
    header, start = _header(path)
    with open(path, "rb") as f:
        for name in names:
            e = header[name]
            a, b = e["data_offsets"]
            f.seek(start + a)
            raw = bytearray(f.read(b - a))
            t = torch.frombuffer(raw, dtype=_ST_DTYPES[e["dtype"]]).reshape(e["shape"])
            out[name] = t.to(device=device, dtype=dtype)
    return out


def load_weights(model_dir, cfg, device, dtype):
    """HF tensor name -> tensor on device, checked against the config's shapes."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        where = {name: os.path.join(model_dir, file) for name, file in weight_map.items()}
    elif os.path.exists(single):
        header, _ = _header(single)
        where = {name: single for name in header if name != "__metadata__"}
    else:
        raise EngineUserError("E_MODEL_MISSING_FILE", f"{single}: file not found (nor model.safetensors.index.json)")
    shapes = {}
    for path in sorted(set(where.values())):
        header, _ = _header(path)
        for name, e in header.items():
            if name == "__metadata__":
                continue
            if e["dtype"] not in _ST_DTYPES:
                raise EngineUserError(
                    "E_MODEL_DTYPE", f"{path}: tensor {name}: dtype {e['dtype']} is not supported; expected F32, F16 or BF16"
                )
            shapes[name] = e["shape"]
    expected = expected_shapes(cfg)
    unembed = "embed_out.weight" if "embed_out.weight" in where else "lm_head.weight" if "lm_head.weight" in where else None
    if unembed is None and not cfg["tieEmbeddings"]:
        unembed = "embed_out.weight"
    if unembed:
        expected[unembed] = [cfg["dVocab"], cfg["dModel"]]
    for name, shape in expected.items():
        if name not in where:
            raise EngineUserError(
                "E_MODEL_MISSING_TENSOR", f"{model_dir}: tensor {name} is missing (expected shape {shape})"
            )
        if list(shapes[name]) != shape:
            raise EngineUserError(
                "E_MODEL_SHAPE", f"{where[name]}: tensor {name}: expected shape {shape} from config.json, got {shapes[name]}"
            )
    by_file = {}
    for name in expected:
        by_file.setdefault(where[name], []).append(name)
    w = {}
    for path, names in by_file.items():
        w.update(_load_file(path, names, device, dtype))
    if not unembed:
        w["embed_out.weight"] = w["gpt_neox.embed_in.weight"]
    elif unembed != "embed_out.weight":
        w["embed_out.weight"] = w.pop(unembed)
    return w


def random_weights(cfg, device, dtype, seed):
    """Pythia-like random weights built on the device (bench): N(0, 0.02) matrices, unit layer norms."""
    g = torch.Generator(device=device).manual_seed(seed)
    w = {}
    for name, shape in expected_shapes(cfg).items():
        if name.endswith("layernorm.weight") or name.endswith("final_layer_norm.weight"):
            w[name] = torch.ones(shape, device=device, dtype=dtype)
        elif name.endswith(".bias"):
            w[name] = torch.zeros(shape, device=device, dtype=dtype)
        else:
            w[name] = (torch.randn(shape, device=device, generator=g, dtype=torch.float32) * 0.02).to(dtype)
    w["embed_out.weight"] = (
        w["gpt_neox.embed_in.weight"]
        if cfg["tieEmbeddings"]
        else (torch.randn([cfg["dVocab"], cfg["dModel"]], device=device, generator=g) * 0.02).to(dtype)
    )
    return w


class NeoX:
    """Weights plus the forward pass. Activations run in the weights' dtype; rotary tables, softmax over the
    vocabulary and the objective's reductions run in float32."""

    def __init__(self, cfg, weights, device, dtype):
        self.cfg = cfg
        self.device = device
        self.dtype = dtype
        self.w = weights
        self.W_E = weights["gpt_neox.embed_in.weight"]  # [V, d]
        self.W_U = weights["embed_out.weight"]  # [V, d]
        self.layers = []
        for l in range(cfg["nLayers"]):
            p = f"gpt_neox.layers.{l}."
            get = lambda k: weights.get(p + k)  # noqa: E731
            self.layers.append(
                dict(
                    ln1=(get("input_layernorm.weight"), get("input_layernorm.bias")),
                    ln2=(get("post_attention_layernorm.weight"), get("post_attention_layernorm.bias")),
                    qkv=(get("attention.query_key_value.weight"), get("attention.query_key_value.bias")),
                    dense=(get("attention.dense.weight"), get("attention.dense.bias")),
                    fc_in=(get("mlp.dense_h_to_4h.weight"), get("mlp.dense_h_to_4h.bias")),
                    fc_out=(get("mlp.dense_4h_to_h.weight"), get("mlp.dense_4h_to_h.bias")),
                )
            )
        self.ln_f = (weights["gpt_neox.final_layer_norm.weight"], weights["gpt_neox.final_layer_norm.bias"])
        self._rope = {}

    def rope(self, n):
        """cos, sin [n, rotaryDim] in float32, as transformers computes them, cast to the compute dtype."""
        if n not in self._rope:
            r = self.cfg["rotaryDim"]
            inv = 1.0 / (self.cfg["rotaryBase"] ** (torch.arange(0, r, 2, dtype=torch.int64, device=self.device).float() / r))
            freqs = torch.outer(torch.arange(n, device=self.device, dtype=torch.float32), inv)
            emb = torch.cat([freqs, freqs], dim=-1)
            self._rope = {n: (emb.cos().to(self.dtype), emb.sin().to(self.dtype))}
        return self._rope[n]

    def _rotary(self, x, cos, sin):
        r = self.cfg["rotaryDim"]
        if r == 0:
            return x
        rot, rest = x[..., :r], x[..., r:]
        half = r // 2
        rotated = torch.cat([-rot[..., half:], rot[..., :half]], dim=-1)
        return torch.cat([rot * cos + rotated * sin, rest], dim=-1)

    def _attention(self, h, L, start, past, keep):
        """h: [B, m, d] (layer-normed) for positions start..start+m-1; past: (K, V) [B, H, start, dh] or None."""
        cfg = self.cfg
        B, m, d = h.shape
        H, dh = cfg["nHeads"], cfg["dHead"]
        qkv = F.linear(h, *L["qkv"]).view(B, m, H, 3 * dh).transpose(1, 2)  # HF's per-head [q | k | v]
        q, k, v = qkv.chunk(3, dim=-1)
        cos, sin = self.rope(start + m)
        cos, sin = cos[start:], sin[start:]
        q = self._rotary(q, cos, sin)
        k = self._rotary(k, cos, sin)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        if keep is not None:
            keep.append((k, v))
        if start == 0:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            # Query start+i sees keys 0..start+i (SDPA's is_causal aligns top-left, so spell the mask out).
            qpos = torch.arange(start, start + m, device=h.device)[:, None]
            mask = torch.arange(start + m, device=h.device)[None, :] <= qpos
            z = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        z = z.transpose(1, 2).reshape(B, m, d)
        return F.linear(z, *L["dense"])

    def forward(self, x, taps=(), logits="all", start=0, past=None, keep=None):
        """x: embeddings [B, m, d] for positions start..; taps: names at the last row; logits: all | last | none |
        hidden (the final layer norm's output, for Unembed). past: per layer (K, V) of positions 0..start-1; keep: a
        list that receives each layer's full (K, V).
        -> (taps {name: [B, dim]}, logits [B, m, V] | [B, V] | hidden [B, m, d] | None)."""
        cfg = self.cfg
        eps = cfg["lnEps"]
        d = cfg["dModel"]
        want = set(taps)
        n_blocks = cfg["nLayers"]
        if logits == "none":
            n_blocks = 0
            for t in taps:
                kind, layer = t.split(".")
                n_blocks = max(n_blocks, int(layer) + 1 if kind == "mlp_post" else int(layer))
        out = {}
        resid = x
        for l in range(n_blocks):
            L = self.layers[l]
            if f"resid_pre.{l}" in want:
                out[f"resid_pre.{l}"] = resid[:, -1]
            a = self._attention(F.layer_norm(resid, (d,), *L["ln1"], eps), L, start, past[l] if past else None, keep)
            mlp_in = resid if cfg["parallelAttnMlp"] else a + resid
            post = F.gelu(F.linear(F.layer_norm(mlp_in, (d,), *L["ln2"], eps), *L["fc_in"]))
            if f"mlp_post.{l}" in want:
                out[f"mlp_post.{l}"] = post[:, -1]
            m = F.linear(post, *L["fc_out"])
            resid = m + a + resid if cfg["parallelAttnMlp"] else m + mlp_in
        if f"resid_pre.{n_blocks}" in want:
            out[f"resid_pre.{n_blocks}"] = resid[:, -1]
        if logits == "none":
            return out, None
        final = resid[:, -1:] if logits == "last" else resid
        normed = F.layer_norm(final, (d,), *self.ln_f, eps)
        if logits == "hidden":
            return out, normed
        lg = F.linear(normed, self.W_U)
        return out, (lg[:, 0] if logits == "last" else lg)


def flops_per_token(cfg, n):
    """Forward FLOPs per token (2 per multiply-add): the matrix products plus attention's scores and mix."""
    d, m, V, Ls = cfg["dModel"], cfg["dMlp"], cfg["dVocab"], cfg["nLayers"]
    per_layer = 2 * (3 * d * d + d * d + 2 * d * m) + 2 * 2 * n * d / 2  # causal: half the n x n on average
    return Ls * per_layer + 2 * d * V


def describe_device(device):
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
