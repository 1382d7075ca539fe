"""`python -m dreamsweep_torch`: the engine process. The first frame from the client says what to load; the
reply is the handshake (protocol version, device, dtype, model shape). Then one reply per request, in order,
until stdin closes. Frames go over a private duplicate of stdout (fd 1), and fd 1 itself is pointed at stderr, so
neither a stray print nor native code (CUDA, a BLAS) writing to fd 1 can corrupt them."""

import collections
import ctypes
import os
import time
import sys
import traceback

from . import PROTOCOL, __version__
from .wire import Closed, FdWriter, read_frame, write_frame

OUT_TEXT = sys.stdout  # --probe's one line
OUT = None  # the frames' writer, made by private_stdout()
IN = sys.stdin.buffer


class Recorder:
    """DREAMSWEEP_TORCH_RECORD=FILE: every byte the client sends is also written to FILE, for replay.py (the
    engine's speed measured on the requests of a real run, without the client)."""

    def __init__(self, stream, path):
        self.stream, self.out = stream, open(path, "wb")

    def read(self, n):
        b = self.stream.read(n)
        self.out.write(b)
        self.out.flush()
        return b


if os.environ.get("DREAMSWEEP_TORCH_RECORD"):
    IN = Recorder(IN, os.environ["DREAMSWEEP_TORCH_RECORD"])
sys.stdout = sys.stderr  # a stray print must not corrupt the frames

# Messages of CUDA errors after which the context is unusable ("sticky": every later call fails too). torch
# raises them as torch.AcceleratorError (2.8 and later) or RuntimeError, with cudaGetErrorString's text.
STICKY_CUDA_ERRORS = (
    "device-side assert",
    "illegal memory access",
    "illegal instruction",
    "misaligned address",
    "unspecified launch failure",
    "launch timed out",
    "uncorrectable ecc error",
    "hardware stop",
    "cublas_status_execution_failed",
    "cuda error: unknown error",
)

# Tests only: DREAMSWEEP_TORCH_TEST_FAULTS makes the CPU show the GPU's failures. Comma-separated:
#   cuda-error@N    the Nth request after load raises a sticky CUDA error (as a device-side assert does)
#   oom-above=R     a chunk of more than R rows raises torch's out-of-memory error (engine.py's chunk loop)
#   fd1-noise       each request writes bytes to fd 1 first, as native code may
TEST_FAULTS = {}
for _f in filter(None, os.environ.get("DREAMSWEEP_TORCH_TEST_FAULTS", "").split(",")):
    _k, _, _v = _f.replace("@", "=", 1).partition("=")
    TEST_FAULTS[_k] = _v


def log(line):
    """One line for the client's log (core/model/torch-process.ts forwards lines with this prefix)."""
    print(f"dreamsweep_torch: {line}", file=sys.stderr, flush=True)


def private_stdout():
    """The frames' writer on a private duplicate of fd 1; fd 1 then points at stderr."""
    fd = os.dup(1)  # not inheritable (PEP 446)
    os.dup2(2, 1)
    return FdWriter(fd)


def is_sticky_cuda_error(torch, e):
    """Any CUDA runtime error (torch.AcceleratorError) or one of the sticky messages; out of memory is not one."""
    text = str(e).lower()
    return isinstance(e, getattr(torch, "AcceleratorError", ())) or any(m in text for m in STICKY_CUDA_ERRORS)


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
    global OUT
    if "--probe" in sys.argv:
        probe()
        return
    OUT = private_stdout()
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

    def compile_blocks(model):
        """torch.compile each block (dynamic shapes: a packed pass's token count changes every call): on CUDA its
        elementwise ops fuse into fewer kernel launches. A block dynamo cannot compile runs eagerly instead
        (suppress_errors), so a missing compiler costs speed, never a call."""
        import torch._dynamo

        torch._dynamo.config.suppress_errors = True
        config = torch._dynamo.config
        limit = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"  # renamed in torch 2.6
        setattr(config, limit, max(getattr(config, limit), 64))  # graphs per block: grad and no-grad, past or packed
        for i, block in enumerate(model.blocks):
            model.blocks[i] = torch.compile(block, dynamic=True)
        log(f"compile: torch.compile on {len(model.blocks)} blocks (dynamic shapes)")

    def warm_up(engine, n=12):
        """Compiles the graphs EPO's calls use (evaluate in full and packed, gradients) while the model loads, where
        the worker heartbeats, not in a unit's first iteration; then forgets what it computed, so that no call
        afterwards depends on the warm-up."""
        t0 = time.monotonic()
        dev, V = engine.model.device, engine.V
        ids = torch.randint(0, V, (4, n), generator=torch.Generator().manual_seed(0))
        obj = {"kind": "neuron", "layer": 0, "index": 0}
        engine.evaluate(ids.to(dev), obj)
        engine.gradients(ids.to(dev), torch.ones(4, device=dev), obj, 4, torch.ones(V, dtype=torch.bool, device=dev), False)
        child = ids.clone()
        child[:, n // 2] = (child[:, n // 2] + 1) % V
        hint = {"parents": ids, "parentOf": torch.arange(4), "from": torch.full((4,), n // 2), "ids": child}
        engine.evaluate(child.to(dev), obj, hint)
        engine._members = {}
        engine.oom_cap = {}
        log(f"compile: warmed up in {time.monotonic() - t0:.1f} s (evaluate in full and packed, gradients)")

    def load(req):
        dev = req.get("device") or "auto"
        auto = dev == "auto"
        if auto:
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
        if auto:
            # A GPU worker must not drift onto the CPU unseen (a driver older than the wheel's CUDA makes torch see
            # no device): say what auto chose; the GPU image, compose and k8s files ask for device cuda instead.
            why = (
                f"torch sees {torch.cuda.device_count()} CUDA device(s)"
                if device.type == "cuda"
                else f"torch {torch.__version__} (built for CUDA {torch.version.cuda}) sees no CUDA device; "
                "ask for device cuda to fail instead"
            )
            log(f"device auto -> {describe_device(device)}: {why}")
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False  # float32 means float32 (the parity mode)
            torch.backends.cudnn.allow_tf32 = False
            # bf16 products accumulate in float32 all the way (cuBLAS may otherwise reduce split-K partials in bf16).
            torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
        cfg = req["config"]  # the ModelConfig of core/model (TransformerLens names), with its `family`
        dtype = dtypes[name]
        params = families.params(cfg)
        if req.get("random"):
            weights = random_weights(params, device, dtype, int(req.get("seed", 0)))
        else:
            weights = load_weights(req["dir"], cfg, params, device, dtype)
        # Larger chunks keep the products big; on the CPU past 2^26 floats (256 MiB of logits) buys nothing.
        chunk = req.get("maxChunkFloats") or (2**28 if device.type == "cuda" else 2**26)
        source = "random weights" if req.get("random") else req["dir"]
        model = Transformer.build(cfg, weights, device, dtype, source)
        # On by default on CUDA (fewer kernel launches), off on the CPU (measured no faster there): the request's
        # `compile`, else DREAMSWEEP_TORCH_COMPILE (0 or 1: the operator's switch on a GPU node), else the device.
        compiled = req.get("compile")
        if compiled is None and os.environ.get("DREAMSWEEP_TORCH_COMPILE") in ("0", "1"):
            compiled = os.environ["DREAMSWEEP_TORCH_COMPILE"] == "1"
        if compiled is None:
            compiled = device.type == "cuda"
        if compiled:
            compile_blocks(model)
        engine = Engine(model, chunk, req.get("slabColumns"))
        engine.log = log
        if compiled:
            warm_up(engine, min(12, cfg.get("maxPositions") or 12))
        if "oom-above" in TEST_FAULTS:
            engine.test_oom_above = int(TEST_FAULTS["oom-above"])
        return engine, {
            "protocol": PROTOCOL,
            "engine": __version__,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "device": describe_device(device),
            "dtype": name,
            "compiled": bool(compiled),
            "shape": {k: cfg[k] for k in ("nLayers", "dModel", "dMlp", "dVocab", "nHeads")},
        }

    # A TopK SAE's whole encoder (wEncAll [d_in, d_sae], bEncAll [d_sae], float32 on the device) by content key:
    # the client sends it once per process, not with every call (Gemma Scope's 131k latents x 2304 are 1.2 GB).
    # The most recent few are kept, fewer past SAE_BYTES; a request naming an evicted key is answered
    # E_ARRAY_UNKNOWN, on which the client sends the arrays again.
    sae_sets = collections.OrderedDict()
    SAE_SETS = 4
    SAE_BYTES = 2**32

    def sae_encoder(key, arrays, device):
        w, b = "sae:" + key + ":wEncAll", "sae:" + key + ":bEncAll"
        if w in arrays and b in arrays:
            sae_sets[key] = (tensor(arrays, w, device), tensor(arrays, b, device))
            while len(sae_sets) > 1 and (len(sae_sets) > SAE_SETS or sum(w.numel() * 4 for w, _ in sae_sets.values()) > SAE_BYTES):
                sae_sets.popitem(last=False)
        if key not in sae_sets:
            raise EngineUserError("E_ARRAY_UNKNOWN", f"objective sae: encoder {key} is not on the engine; send it with the request")
        sae_sets.move_to_end(key)
        return sae_sets[key]

    def objective(req, arrays, engine):
        """The request's objective, decoded once: its tensors on the device, an SAE's tap parsed."""
        device = engine.model.device
        obj = dict(req["objective"])
        if obj["kind"] == "resid":
            obj["_vec"] = tensor(arrays, "vector", device)
        elif obj["kind"] == "sae":
            tap = parse_tap(obj["tap"], engine.model.cfg["nLayers"])
            if tap.kind not in ("resid_pre", "resid_post", "mlp_out"):
                raise EngineUserError("E_OBJECTIVE", f"objective sae: tap {obj['tap']!r} is not resid_pre, resid_post or mlp_out")
            obj["_tap"] = tap
            obj["_wEnc"] = tensor(arrays, "wEnc", device)
            obj["_bDec"] = tensor(arrays, "bDec", device) if "bDec" in arrays else None
            if obj["activation"]["kind"] == "topk":
                obj["_all"] = sae_encoder(obj["activation"]["key"], arrays, device)
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

    served = [0]

    def test_faults():
        served[0] += 1
        if "fd1-noise" in TEST_FAULTS:
            os.write(1, b"native code writing to fd 1\n")
        if TEST_FAULTS.get("cuda-error") == str(served[0]):
            raise RuntimeError("CUDA error: device-side assert triggered (simulated by DREAMSWEEP_TORCH_TEST_FAULTS)")

    def serve(engine, req, arrays):
        if TEST_FAULTS:
            test_faults()
        dev = engine.model.device
        op = req["op"]
        engine.shrunk = None
        ids = tensor(arrays, "ids", dev, torch.int64) if "ids" in arrays else None
        if op == "evaluate":
            prefix = None
            if "parents" in arrays:
                # On the host: the engine plans its packed pass there, with no device synchronisation.
                cpu = torch.device("cpu")
                prefix = {
                    "parents": tensor(arrays, "parents", cpu, torch.int64),
                    "parentOf": tensor(arrays, "parentOf", cpu, torch.int64),
                    "from": tensor(arrays, "from", cpu, torch.int64),
                    "ids": tensor(arrays, "ids", cpu, torch.int64),
                }
            f, ce = engine.evaluate(ids, objective(req, arrays, engine), prefix)
            return {}, [raw("f", f), raw("ce", ce)]
        if op == "gradients":
            allowed = tensor(arrays, "allowed", dev).bool()
            lambdas = tensor(arrays, "lambdas", dev)
            f, ce, top, grads = engine.gradients(ids, lambdas, objective(req, arrays, engine), int(req["k"]), allowed, bool(req.get("full")))
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

    def served_with_chunk(engine, req, arrays):
        """serve(), and `chunkRows` in the reply when an out-of-memory error made the engine shrink its chunks."""
        header, out = serve(engine, req, arrays)
        return ({**header, "chunkRows": engine.shrunk} if engine.shrunk is not None else header), out

    def answer(rid, fn):
        """Runs fn -> (header, arrays) and writes the reply; errors become error frames (the process lives on)."""
        try:
            header, out = fn()
            write_frame(OUT, {"id": rid, "ok": True, **header}, out)
            return
        except EngineUserError as e:
            write_frame(OUT, {"id": rid, **fail(e.code, str(e))})
            return
        except Exception as e:  # noqa: BLE001
            oom = isinstance(e, getattr(torch.cuda, "OutOfMemoryError", ())) or "out of memory" in str(e)
            sticky = not oom and is_sticky_cuda_error(torch, e)
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            if not oom:
                traceback.print_exc()
            if sticky:
                # The CUDA context is gone: every later call would fail. Answer, then exit; the client restarts
                # the process as after a crash (kind fatal).
                write_frame(OUT, {"id": rid, **fail("E_TORCH_CUDA_FATAL", detail, "fatal")})
                log("sticky CUDA error: exiting so that the client starts a fresh process")
                sys.stderr.flush()
                os._exit(3)
            reply = fail("E_TORCH_OOM" if oom else "E_TORCH_INTERNAL", detail, "oom" if oom else "internal")
        # Out of the except block: the exception and its traceback (which hold the failed call's tensors) are
        # released, so empty_cache can return their memory.
        if oom and torch.cuda.is_available():
            torch.cuda.empty_cache()
        write_frame(OUT, {"id": rid, **reply})

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
        answer(req.get("id"), lambda: served_with_chunk(state["engine"], req, arrays))


if __name__ == "__main__":
    try:
        main()
    except (Closed, BrokenPipeError):
        pass  # the client went away: nothing left to answer
    finally:
        try:
            if OUT is not None:
                OUT.flush()
        except BrokenPipeError:
            pass
    os._exit(0)  # skip interpreter teardown (CUDA contexts, threads): the process has nothing left to do
