"""Replays the requests of a recorded run into the engine and prints each op's wall and CPU seconds per call: the
engine's speed on a real request stream, without the client, with a baseline checkout side by side.

  DREAMSWEEP_TORCH_RECORD=/tmp/epo.req npm run bench:epo -- --engine torch --preset 70m --device cpu \\
      --dtype float32 --threads 2 --prefix on --iters 6      # records what the client sent
  python engines/torch/replay.py /tmp/epo.req --threads 1 --repeat 3 [--engine-dir OTHER/engines/torch]

--threads overrides the recording's (one thread is steadier on a shared machine); --repeat runs each call that many
times and keeps the fastest (a repeated evaluate finds its parents kept, as EPO's next one mostly does). Replies go
to /dev/null."""

import argparse
import collections
import os
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("recording")
parser.add_argument("--threads", type=int)
parser.add_argument("--repeat", type=int, default=1)
parser.add_argument("--engine-dir", default=os.path.dirname(os.path.abspath(__file__)), help="the engines/torch folder to run")
args = parser.parse_args()
sys.path.insert(0, args.engine_dir)

import torch  # noqa: E402

import dreamsweep_torch.__main__ as server  # noqa: E402
from dreamsweep_torch.engine import Engine  # noqa: E402
from dreamsweep_torch.wire import Closed, FdWriter  # noqa: E402

if args.threads:
    torch.set_num_threads(args.threads)
    torch.set_num_threads = lambda n: None  # the recording's load frame must not undo it
server.IN = open(args.recording, "rb")
server.private_stdout = lambda: FdWriter(os.open(os.devnull, os.O_WRONLY))
times = collections.defaultdict(list)  # op -> [(wall, cpu)] per call, the fastest of --repeat


def timed(name, method):
    def run(self, *a, **k):
        best = None
        for _ in range(args.repeat):
            w, c = time.perf_counter(), time.process_time()
            out = method(self, *a, **k)
            w, c = time.perf_counter() - w, time.process_time() - c
            best = (w, c) if best is None or w < best[0] else best
        times[name].append(best)
        return out

    return run


for op in ("evaluate", "gradients", "taps"):
    setattr(Engine, op, timed(op, getattr(Engine, op)))
try:
    server.main()
except Closed:
    pass
for op, calls in times.items():
    steady = calls[1:] or calls  # the first call of each op warms up
    wall, cpu = sum(w for w, _ in steady) / len(steady), sum(c for _, c in steady) / len(steady)
    print(f"{op}: {len(calls)} calls; after the first, mean {wall:.3f} s wall, {cpu:.3f} s CPU; each: " + " ".join(f"{w:.3f}" for w, _ in calls))
