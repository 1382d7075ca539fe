"""Checkpoint tensors -> the model's parameters. A family (families/) lists its Params: each names the checkpoint
tensors it is made from (names and shapes) and how they become one parameter (a transpose, a concatenation, a
reordering). The same list serves the safetensors loader (checks, then reads straight to the device in the compute
dtype) and random_weights (the bench), so a family states its weights once."""

import json
import os
import struct
from contextlib import ExitStack
from typing import Callable, NamedTuple, Optional, Tuple

import torch

from .errors import EngineUserError


class Source(NamedTuple):
    """One checkpoint tensor: its names (the first present wins, e.g. with and without GPT-2's `transformer.`),
    its shape, and how random_weights fills it (normal N(0, 0.02), ones, zeros)."""

    names: Tuple[str, ...]
    shape: Tuple[int, ...]
    init: str = "normal"


class Param(NamedTuple):
    """One parameter of model.Transformer (e.g. 'blocks.0.attn.qkv.weight'), made from `sources` by `convert`
    (tensors in source order -> the parameter; None: the single source as is)."""

    target: str
    sources: Tuple[Source, ...]
    convert: Optional[Callable] = None


def concat_rows(*ts):
    return torch.cat(ts, dim=0)


def transpose(t):
    return t.t().contiguous()


def materialise(params, fetch):
    """{target: tensor}, fetch(source) giving each source's tensor."""
    out = {}
    for p in params:
        ts = [fetch(s) for s in p.sources]
        out[p.target] = p.convert(*ts) if p.convert else ts[0]
    return out


# ---- safetensors ----

_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def _header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)), 8 + n


class _Files:
    """Reads tensors out of safetensors files with the safetensors package when installed; a GPU node that has
    only torch reads the (simple) format itself."""

    def __init__(self, stack):
        self.stack = stack
        self.open = {}
        try:
            from safetensors import safe_open
        except ImportError:
            safe_open = None
        self.safe_open = safe_open

    def get(self, path, name, entry):
        """entry: the tensor's header entry. -> a CPU tensor in its stored dtype."""
        if path not in self.open:
            if self.safe_open is not None:
                self.open[path] = self.stack.enter_context(self.safe_open(path, framework="pt", device="cpu"))
            else:
                self.open[path] = (self.stack.enter_context(open(path, "rb")), _header(path)[1])
        if self.safe_open is not None:
            return self.open[path].get_tensor(name)
        f, start = self.open[path]
        a, b = entry["data_offsets"]
        f.seek(start + a)
        return torch.frombuffer(bytearray(f.read(b - a)), dtype=_ST_DTYPES[entry["dtype"]]).reshape(entry["shape"])


def _index(model_dir):
    """{tensor name: (file, header entry)} over the checkpoint's file or shards."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
        paths = [os.path.join(model_dir, file) for file in files]
    elif os.path.exists(single):
        paths = [single]
    else:
        raise EngineUserError("E_MODEL_MISSING_FILE", f"{single}: file not found (nor model.safetensors.index.json)")
    where = {}
    for path in paths:
        if not os.path.exists(path):
            raise EngineUserError("E_MODEL_MISSING_FILE", f"{path}: file not found (named by model.safetensors.index.json)")
        header, _ = _header(path)
        for name, entry in header.items():
            if name != "__metadata__":
                where[name] = (path, entry)
    return where


def load_weights(model_dir, cfg, params, device, dtype):
    """{target: tensor on device in dtype} from the checkpoint in model_dir, every source checked first (present,
    shape from config.json, F32/F16/BF16)."""
    where = _index(model_dir)
    found = {}
    for p in params:
        for s in p.sources:
            name = next((n for n in s.names if n in where), None)
            if name is None:
                raise EngineUserError("E_MODEL_MISSING_TENSOR", f"{model_dir}: tensor {s.names[0]} is missing (expected shape {list(s.shape)})")
            path, entry = where[name]
            if entry["dtype"] not in _ST_DTYPES:
                raise EngineUserError("E_MODEL_DTYPE", f"{path}: tensor {name}: dtype {entry['dtype']} is not supported; expected F32, F16 or BF16")
            if list(entry["shape"]) != list(s.shape):
                raise EngineUserError("E_MODEL_SHAPE", f"{path}: tensor {name}: expected shape {list(s.shape)} from config.json, got {entry['shape']}")
            found[s] = (name, path, entry)
    with ExitStack() as stack:
        files = _Files(stack)

        def fetch(s):
            name, path, entry = found[s]
            return files.get(path, name, entry).to(device=device, dtype=dtype)

        return materialise(params, fetch)


def random_weights(params, device, dtype, seed):
    """Random weights of the checkpoint's shapes, built on the device (the bench): N(0, 0.02) matrices, unit norms,
    zero biases."""
    g = torch.Generator(device=device).manual_seed(seed)

    def fetch(s):
        if s.init == "ones":
            return torch.ones(s.shape, device=device, dtype=dtype)
        if s.init == "zeros":
            return torch.zeros(s.shape, device=device, dtype=dtype)
        return (torch.randn(s.shape, device=device, generator=g, dtype=torch.float32) * 0.02).to(dtype)

    return materialise(params, fetch)
