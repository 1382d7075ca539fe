"""Seconds per EPO iteration of the paper's code (Confirm Labs' dreamy, epo.py, in a checkout you provide) at the shape
and settings bench/epo.ts uses: a Pythia shape with random weights (transformers' GPTNeoXForCausalLM, eager attention),
Table 1 settings (M = 8, r = 32, k = 512, n = 12), the resid objective at the middle layer with a random unit vector.
On the CPU: float32, --threads threads (next to `npm run bench:epo`, interleaved, to compare on one machine). On CUDA:
float16 as the paper's code loads its models, the weights made on the GPU. Prints one JSON object. The paper's code is
not part of this repository: --dreamy names a checkout of it.

  git clone https://github.com/Confirm-Solutions/dreamy /tmp/dreamy
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r scripts/golden/requirements.txt
  /tmp/venv/bin/python bench/reference_epo.py --dreamy /tmp/dreamy --threads 2 --iters 6
  python3 bench/reference_epo.py --dreamy /tmp/dreamy --device cuda --preset 12b --iters 5   # a GPU node (scripts/gpu-check.sh)
"""

import argparse
import json
import os
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--dreamy", required=True, help="a checkout of github.com/Confirm-Solutions/dreamy (the folder holding dreamy/epo.py)")
parser.add_argument("--threads", type=int, default=2, help="CPU threads (the CPU only)")
parser.add_argument("--iters", type=int, default=6)
parser.add_argument("--preset", default="70m", choices=["70m", "160m", "410m", "1.4b", "12b"])
parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
parser.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], help="default: float16 on CUDA (the paper's code), float32 on the CPU")
parser.add_argument("--population", type=int, default=8, help="M (Table 1: 8)")
parser.add_argument("--children", type=int, default=32, help="r, children per member (Table 1: 32)")
parser.add_argument("--topk", type=int, default=512, help="k (Table 1: 512)")
args = parser.parse_args()
if not os.path.isfile(os.path.join(args.dreamy, "dreamy", "epo.py")):
    sys.exit(f"reference_epo.py: --dreamy {args.dreamy}: no dreamy/epo.py there; git clone https://github.com/Confirm-Solutions/dreamy")
sys.path.insert(0, args.dreamy)

import torch  # noqa: E402
import transformers  # noqa: E402
from dreamy.epo import epo  # noqa: E402
from dreamy.runners import residual_runner  # noqa: E402

# d_model, layers, heads, vocabulary rows (bench/presets.ts; Pythia-12b pads its vocabulary to 50688)
SHAPES = {
    "70m": (512, 6, 8, 50304),
    "160m": (768, 12, 12, 50304),
    "410m": (1024, 24, 16, 50304),
    "1.4b": (2048, 24, 16, 50304),
    "12b": (5120, 36, 40, 50688),
}
d, layers, heads, vocab = SHAPES[args.preset]
device = torch.device(args.device)
cuda = device.type == "cuda"
dtype = getattr(torch, args.dtype or ("float16" if cuda else "float32"))
if not cuda:
    torch.set_num_threads(args.threads)
torch.manual_seed(0)
cfg = transformers.GPTNeoXConfig(
    vocab_size=vocab,
    hidden_size=d,
    num_hidden_layers=layers,
    num_attention_heads=heads,
    intermediate_size=4 * d,
    rotary_pct=0.25,
    use_parallel_residual=True,
    use_cache=False,
)
cfg._attn_implementation = "eager"
# Made where it runs, in its dtype: 12b's random weights are 24 GB in float16 (in float32 on the host, 48 GB and minutes).
previous = torch.get_default_dtype()
torch.set_default_dtype(dtype)
try:
    with device:
        model = transformers.GPTNeoXForCausalLM(cfg).eval()
finally:
    torch.set_default_dtype(previous)
for p in model.parameters():
    p.requires_grad_(False)


class Tokenizer:
    """All epo() reads of a tokenizer when the callback prints nothing: the size random prompts draw from (Pythia's)."""

    vocab_size = 50277


vector = torch.randn(d, device=device, dtype=dtype)
run = residual_runner(model, Tokenizer(), layers // 2, vector / vector.norm())
marks = []


def callback(i, state, runtime, history, final=False):
    if cuda:
        torch.cuda.synchronize(device)
    marks.append(time.perf_counter())  # called at the start of every iteration, and once more at the end
    return False


epo(
    run,
    model,
    Tokenizer(),
    iters=args.iters + 1,
    population_size=args.population,
    explore_per_pop=args.children,
    topk=args.topk,
    callback=callback,
    seed=0,
)
times = [b - a for a, b in zip(marks, marks[1:])]
steady = times[1:]  # the first iteration also computes every member's gradient, as in bench/epo.ts
print(
    json.dumps(
        {
            "bench": "reference-epo",
            "preset": args.preset,
            "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if cuda else ""),
            "dtype": str(dtype).replace("torch.", ""),
            **({} if cuda else {"threads": args.threads}),
            "population": args.population,
            "children": args.children,
            "torch": torch.__version__,
            "secondsPerIteration": round(sum(steady) / len(steady), 4),
            "firstIterationSeconds": round(times[0], 3),
            "iterations": [round(t, 3) for t in steady],
        }
    )
)
