"""Seconds per EPO iteration of the paper's code (Confirm Labs' dreamy, epo.py) on this machine's CPU, at the shape and
settings bench/epo.ts uses: Pythia-70m's shape with random weights (transformers' GPTNeoXForCausalLM, float32, eager
attention), Table 1 settings (dreamy's defaults: M = 8, r = 32, k = 512, n = 12), the resid objective at layer 3 with a
random unit vector. Run it next to `npm run bench:epo`, interleaved, to compare on one machine. Prints one JSON object.

  git clone https://github.com/Confirm-Solutions/dreamy /tmp/dreamy
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r scripts/golden/requirements.txt
  /tmp/venv/bin/python bench/reference_epo.py --dreamy /tmp/dreamy --threads 2 --iters 6
"""

import argparse
import json
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--dreamy", required=True, help="a checkout of github.com/Confirm-Solutions/dreamy")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--iters", type=int, default=6)
parser.add_argument("--preset", default="70m", choices=["70m", "160m", "410m"])
args = parser.parse_args()
sys.path.insert(0, args.dreamy)

import torch  # noqa: E402
import transformers  # noqa: E402
from dreamy.epo import epo  # noqa: E402
from dreamy.runners import residual_runner  # noqa: E402

SHAPES = {"70m": (512, 6, 8), "160m": (768, 12, 12), "410m": (1024, 24, 16)}  # d_model, layers, heads (bench/presets.ts)
d, layers, heads = SHAPES[args.preset]
torch.set_num_threads(args.threads)
torch.manual_seed(0)
cfg = transformers.GPTNeoXConfig(
    vocab_size=50304,
    hidden_size=d,
    num_hidden_layers=layers,
    num_attention_heads=heads,
    intermediate_size=4 * d,
    rotary_pct=0.25,
    use_parallel_residual=True,
    use_cache=False,
)
cfg._attn_implementation = "eager"
model = transformers.GPTNeoXForCausalLM(cfg).eval()
for p in model.parameters():
    p.requires_grad_(False)


class Tokenizer:
    """All epo() reads of a tokenizer when the callback prints nothing: the size random prompts draw from (Pythia's)."""

    vocab_size = 50277


vector = torch.randn(d)
run = residual_runner(model, Tokenizer(), layers // 2, vector / vector.norm())
marks = []


def callback(i, state, runtime, history, final=False):
    marks.append(time.perf_counter())  # called at the start of every iteration, and once more at the end
    return False


epo(run, model, Tokenizer(), iters=args.iters + 1, callback=callback, seed=0)
times = [b - a for a, b in zip(marks, marks[1:])]
steady = times[1:]  # the first iteration also computes every member's gradient, as in bench/epo.ts
print(
    json.dumps(
        {
            "bench": "reference-epo",
            "preset": args.preset,
            "threads": args.threads,
            "torch": torch.__version__,
            "secondsPerIteration": round(sum(steady) / len(steady), 4),
            "firstIterationSeconds": round(times[0], 3),
            "iterations": [round(t, 3) for t in steady],
        }
    )
)
