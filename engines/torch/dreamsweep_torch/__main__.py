"""`python -m dreamsweep_torch`: the engine process. The first frame from the client says what to load; the
reply is the handshake (protocol version, device, dtype, model shape). Then one reply per request, in order,
until stdin closes. Frames go over stdout; anything printed goes to stderr."""

import collections
import ctypes
import os
import sys
import traceback

from . import PROTOCOL, __version__
from .wire import Closed, read_frame, write_frame

OUT_TEXT = sys.stdout
OUT = sys.stdout.buffer
IN = sys.stdin.buffer
sys.stdout = sys.stderr  # a stray print must not corrupt the frames


def fail(code, message, kind="user"):
    return {"ok": False, "error": {"kind": kind, "code": code, "message": message}}


def probe():
    """`--probe`: one JSON line saying what this Python's torch can run on (for `dreamsweep backends`)."""
    import json

    try:
        import torch
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"ok": False, "error": f"{sys.executable}: cannot import torch ({e})"}), file=OUT_TEXT, flush=True)
        return
    cuda = torch.cuda.is_available()
    devices = [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())] if cuda else []
    print(json.dumps({"ok": True, "torch": torch.__version__, "cuda": torch.version.cuda, "devices": devices or ["cpu"]}), file=OUT_TEXT, flush=True)


def main():
    if "--probe" in sys.argv:
        probe()
        return
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any failure to import torch is reported the same way
        header, _ = read_frame(IN)
        write_frame(OUT, {"id": header.get("id", 0), **fail("E_TORCH_MISSING", f"{sys.executable}: cannot import torch ({e})")})
        return
    from . import families
    from .engine import Engine
    from .errors import EngineUserError
    from .model import Transformer, describe_device
    from .taps import parse_tap
    from .weights import load_weights, random_weights

    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

    def tensor(arrays, name, device, dtype=None):
        kind, shape, data = arrays[name]
        t = torch.frombuffer(bytearray(data), dtype={"f32": torch.float32, "i32": torch.int32, "u8": torch.uint8}[kind])
        t = t.reshape(shape).to(device)
        return t if dtype is None else t.to(dtype)

    def raw(name, t):
        t = t.detach().to("cpu").contiguous()
        kind = {torch.float32: "f32", torch.float64: "f64", torch.int32: "i32", torch.uint8: "u8"}[t.dtype]
        return (name, kind, list(t.shape), ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()) if t.numel() else b"")

    def load(req):
        dev = req.get("device") or "auto"
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        if dev.startswith("cuda") and not torch.cuda.is_available():
            raise EngineUserError(
                "E_TORCH_DEVICE",
                f"device {dev}: torch {torch.__version__} sees no CUDA device (built for CUDA {torch.version.cuda}); "
                "check nvidia-smi and the driver, or use device cpu",
            )
        device = torch.device(dev)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())  # named in logs as cuda:N
        if device.type == "cuda" and device.index >= torch.cuda.device_count():
            raise EngineUserError("E_TORCH_DEVICE", f"device {dev}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        name = req.get("dtype") or "auto"
        if name == "auto":
            name = "bfloat16" if device.type == "cuda" else "float32"
        if name not in dtypes:
            raise EngineUserError("E_TORCH_DTYPE", f"dtype {name}: expected float32, bfloat16 or float16")
        if req.get("threads"):
            torch.set_num_threads(int(req["threads"]))
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False  # float32 means float32 (the parity mode)
            torch.backends.cudnn.allow_tf32 = False
        cfg = req["config"]  # the ModelConfig of core/model (TransformerLens names), with its `family`
        dtype = dtypes[name]
        params = families.params(cfg)
        if req.get("random"):
            weights = random_weights(params, device, dtype, int(req.get("seed", 0)))
        else:
            weights = load_weights(req["dir"], cfg, params, device, dtype)
        # Larger chunks keep the products big; on the CPU past 2^26 floats (256 MiB of logits) buys nothing.
        chunk = req.get("maxChunkFloats") or (2**28 if device.type == "cuda" else 2**26)
        return Engine(Transformer.build(cfg, weights, device, dtype), chunk, req.get("prefixGroupOverhead"), req.get("slabColumns")), {
            "protocol": PROTOCOL,
            "engine": __version__,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "device": describe_device(device),
            "dtype": name,
            "shape": {k: cfg[k] for k in ("nLayers", "dModel", "dMlp", "dVocab", "nHeads")},
        }

    def objective(req, arrays, device):
        obj = dict(req["objective"])
        if obj["kind"] == "resid":
            obj["_vec"] = tensor(arrays, "vector", device)
        return obj

    # The `align` vectors of taps, on the device by content key: the client sends a set once (a scan reuses its
    # sets every batch); the oldest go past this many, and a request naming an evicted key is answered
    # E_ALIGN_UNKNOWN, on which the client sends the vectors again.
    vector_sets = collections.OrderedDict()
    VECTOR_SETS = 32

    def align_vectors(req, arrays, dev, parsed):
        """{Tap: vectors [J, d] float64} for the request's `align` entries; parsed: {name: Tap}."""
        align = {}
        for a in req.get("align", []):
            key = a["key"]
            if "align:" + key in arrays:
                vector_sets[key] = tensor(arrays, "align:" + key, dev, torch.float64)
                while len(vector_sets) > VECTOR_SETS:
                    vector_sets.popitem(last=False)
            if key not in vector_sets:
                raise EngineUserError("E_ALIGN_UNKNOWN", f"taps: align vectors {key} are not on the engine; send them with the request")
            vector_sets.move_to_end(key)
            align[parsed[a["name"]]] = vector_sets[key]
        return align

    def serve(engine, req, arrays):
        dev = engine.model.device
        op = req["op"]
        ids = tensor(arrays, "ids", dev, torch.int64) if "ids" in arrays else None
        if op == "evaluate":
            prefix = None
            if "parents" in arrays:
                prefix = {
                    "parents": tensor(arrays, "parents", dev, torch.int64),
                    "parentOf": tensor(arrays, "parentOf", dev, torch.int64),
                    "from": tensor(arrays, "from", dev, torch.int64),
                }
            f, ce = engine.evaluate(ids, objective(req, arrays, dev), prefix)
            return {}, [raw("f", f), raw("ce", ce)]
        if op == "gradients":
            allowed = tensor(arrays, "allowed", dev).bool()
            lambdas = tensor(arrays, "lambdas", dev)
            f, ce, top, grads = engine.gradients(ids, lambdas, objective(req, arrays, dev), int(req["k"]), allowed, bool(req.get("full")))
            out = [raw("f", f), raw("ce", ce), raw("topk", top)]
            if grads is not None:
                out.append(raw("grads", grads))
            return {}, out
        if op == "taps":
            # Tap names are parsed here, once; the replies carry the names as the client sent them.
            n_layers = engine.model.cfg["nLayers"]
            taps = {name: parse_tap(name, n_layers) for name in req["names"]}
            aligned = {a["name"]: parse_tap(a["name"], n_layers) for a in req.get("align", [])}
            align = align_vectors(req, arrays, dev, aligned)
            values, alignments, ce, positions = engine.taps(ids, list(taps.values()), bool(req.get("ce", True)), bool(req.get("cePositions")), align)
            out = [raw("tap:" + name, values[tap]) for name, tap in taps.items() if tap in values]
            out += [raw("align:" + name, alignments[tap]) for name, tap in aligned.items()]
            out.append(raw("ce", ce))
            if positions is not None:
                out.append(raw("cePositions", positions))
            return {}, out
        if op == "memory":
            if dev.type != "cuda":
                return {"peakBytes": None, "totalBytes": None}, []
            peak = torch.cuda.max_memory_allocated(dev)
            torch.cuda.reset_peak_memory_stats(dev)
            return {"peakBytes": peak, "totalBytes": torch.cuda.get_device_properties(dev).total_memory}, []
        raise EngineUserError("E_ENGINE_PROTOCOL", f"unknown op {op!r}")

    def answer(rid, fn):
        """Runs fn -> (header, arrays) and writes the reply; errors become error frames (the process lives on)."""
        try:
            header, out = fn()
            write_frame(OUT, {"id": rid, "ok": True, **header}, out)
        except EngineUserError as e:
            write_frame(OUT, {"id": rid, **fail(e.code, str(e))})
        except Exception as e:  # noqa: BLE001
            oom = isinstance(e, getattr(torch.cuda, "OutOfMemoryError", ())) or "out of memory" in str(e)
            if oom and torch.cuda.is_available():
                torch.cuda.empty_cache()
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            if not oom:
                traceback.print_exc()
            write_frame(OUT, {"id": rid, **fail("E_TORCH_OOM" if oom else "E_TORCH_INTERNAL", detail, "oom" if oom else "internal")})

    req, _ = read_frame(IN)
    if req.get("protocol") != PROTOCOL:
        write_frame(OUT, {"id": req.get("id", 0), **fail("E_ENGINE_PROTOCOL", f"engine speaks protocol {PROTOCOL}, client {req.get('protocol')}")})
        return
    state = {}

    def do_load():
        state["engine"], hello = load(req)
        return hello, []

    answer(req.get("id", 0), do_load)
    if "engine" not in state:
        return
    while True:
        req, arrays = read_frame(IN)
        answer(req.get("id"), lambda: serve(state["engine"], req, arrays))


if __name__ == "__main__":
    try:
        main()
    except (Closed, BrokenPipeError):
        pass  # the client went away: nothing left to answer
    finally:
        try:
            OUT.flush()
        except BrokenPipeError:
            pass
    os._exit(0)  # skip interpreter teardown (CUDA contexts, threads): the process has nothing left to do
