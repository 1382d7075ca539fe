"""The transformer every family runs (blocks.py's pieces, configured by the shared ModelConfig), and its taps.
The config arrives parsed and checked by core/model/ (TransformerLens names); families/ say how a checkpoint's
tensors become these parameters. Activations run in the weights' dtype; rotary tables, RMSNorm, the softmax over
the vocabulary and the objective's reductions run in float32."""

import torch
import torch.nn as nn

from .blocks import Block, Rotary, norm, softcap
from .errors import EngineUserError
from .taps import Tap


class Transformer(nn.Module):
    """W_E [V, d]; W_pos [nCtx, d] (learned positions only); blocks; the final norm; W_U [V, d] (W_E when tied).
    The token embedding happens outside (the engine differentiates through it): forward takes embeddings (and
    applies embedScale itself, so the one-hot gradient path is scaled too). Per layer: sliding or full attention
    (layerTypes), and its rotary tables (Gemma 3's sliding layers: localRotaryBase, unscaled). finalSoftcap applies
    to the logits returned here; the engine's Unembed applies it to its own."""

    def __init__(self, cfg):
        super().__init__()
        d, V = cfg["dModel"], cfg["dVocab"]
        self.cfg = cfg
        self.W_E = nn.Parameter(torch.empty(V, d))
        self.W_pos = nn.Parameter(torch.empty(cfg["nCtx"], d)) if cfg["positional"] == "learned" else None
        sliding = [t == "sliding" for t in cfg.get("layerTypes") or ["full"] * cfg["nLayers"]]
        self.blocks = nn.ModuleList(Block(cfg, sliding[l]) for l in range(cfg["nLayers"]))
        self.ln_f = norm(cfg, d)
        self.W_U = None if cfg["tieEmbeddings"] else nn.Parameter(torch.empty(V, d))
        rotary = Rotary(cfg) if cfg["positional"] == "rotary" and cfg["rotaryDim"] > 0 else None
        local = Rotary(cfg, cfg["localRotaryBase"], None) if rotary and cfg.get("localRotaryBase") else rotary
        self.rotaries = [local if s else rotary for s in sliding]  # per layer
        self.embed_scale = d**0.5 if cfg.get("embedScale") else None
        self.final_softcap = cfg.get("finalSoftcap")

    @classmethod
    def build(cls, cfg, tensors, device, dtype, source="the weights"):
        """The model with its parameters taken from `tensors` ({parameter name: tensor on the device}), no copies.
        source (the model directory) names where the tensors came from in an E_MODEL_SHAPE / E_MODEL_MISSING_TENSOR:
        a checkpoint whose tensors do not fit the model config.json describes is the user's to fix."""
        with torch.device("meta"):
            model = cls(cfg)
        for target, t in tensors.items():
            *path, leaf = target.split(".")
            try:
                owner = model.get_submodule(".".join(path)) if path else model
            except AttributeError:
                owner = None  # e.g. a post-norm's weight for a config without postNorms
            if not isinstance(getattr(owner, leaf, None), nn.Parameter):
                why = f"the {cfg['family']} model config.json describes has no such parameter"
                raise EngineUserError("E_MODEL_SHAPE", f"{source}: tensor {target} (shape {list(t.shape)}): {why}")
            expected = list(getattr(owner, leaf).shape)
            if expected != list(t.shape):
                raise EngineUserError("E_MODEL_SHAPE", f"{source}: tensor {target}: expected shape {expected} from config.json, got {list(t.shape)}")
            setattr(owner, leaf, nn.Parameter(t, requires_grad=False))
        if cfg["tieEmbeddings"]:
            model.W_U = model.W_E
        missing = [(name, list(p.shape)) for name, p in model.named_parameters() if p.is_meta]
        if missing:
            name, shape = missing[0]
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise EngineUserError("E_MODEL_MISSING_TENSOR", f"{source}: tensor {name} is missing (expected shape {shape}){more}")
        model.device, model.dtype = device, dtype
        return model

    def forward(self, x, taps=(), out="all", start=0, past=None, keep=None, packed=None):
        """x: token embeddings [B, m, d] for positions start..start+m-1; taps: Taps read at the last row;
        out: all | last | none | hidden (the final norm's output, for the engine's Unembed). past: per layer (K, V)
        of positions 0..start-1; keep: a list that receives each layer's full (K, V).
        packed (blocks.Packed): x is [T, d], rows of different starts packed; past: per layer each row's parent's
        (K, V) [B, n, Hkv, dh] or None; taps read at each row's last token; out hidden only.
        -> ({Tap: [B, dim]}, logits [B, m, V] | [B, V] | hidden [B, m, d] (packed: [T, d]) | None)."""
        last = (lambda v: v[packed.last]) if packed is not None else (lambda v: v[:, -1])
        want = set(taps)
        n_blocks = len(self.blocks)
        if out == "none":
            n_blocks = max((t.blocks_needed() for t in want), default=0)
        m = x.shape[1] if packed is None else packed.n
        if self.embed_scale is not None:
            x = x * torch.tensor(self.embed_scale, dtype=x.dtype, device=x.device)  # sqrt(d) rounded to the dtype, as transformers
        if self.W_pos is not None:
            if start + m > self.W_pos.shape[0]:
                raise EngineUserError("E_SEQ_LEN", f"{start + m} positions exceed the model's {self.W_pos.shape[0]} learned positions")
            x = x + (self.W_pos[start : start + m] if packed is None else self.W_pos[packed.pos])
        got = {}
        for l in range(n_blocks):
            if Tap("resid_pre", l) in want:
                got[Tap("resid_pre", l)] = last(x)
            x, post, mlp_out = self.blocks[l](x, self.rotaries[l], start, past[l] if past else None, keep, packed)
            for kind, value in (("mlp_post", post), ("mlp_out", mlp_out), ("resid_post", x)):
                if Tap(kind, l) in want:
                    got[Tap(kind, l)] = last(value)
        if Tap("resid_pre", n_blocks) in want:
            got[Tap("resid_pre", n_blocks)] = last(x)
        if out == "none":
            return got, None
        h = self.ln_f(x[:, -1:] if out == "last" else x)
        if out == "hidden":
            return got, h
        logits = softcap(nn.functional.linear(h, self.W_U), self.final_softcap)
        return got, (logits[:, 0] if out == "last" else logits)


def describe_device(device):
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
