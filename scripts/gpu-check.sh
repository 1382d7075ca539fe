#!/usr/bin/env bash
# The torch engine's GPU acceptance in one script, for a bare GPU node (H100, H200) that has only python3 with torch,
# transformers, safetensors and numpy: no Node (carried), no internet, perhaps no xz (Python's lzma unpacks Node).
#
#   scripts/gpu-check.sh pack [gpu-check.tar]   here, in a checkout with node_modules: bundles the benches with
#                                               esbuild, and carries Node (xz), engines/torch, the fixtures,
#                                               bench/reference_epo.py and, with GPU_CHECK_DREAMY=DIR, the paper's
#                                               code from DIR (a checkout of github.com/Confirm-Solutions/dreamy,
#                                               which this repository does not include).
#   tar xf gpu-check.tar && gpu-check/gpu-check.sh run [results-dir]
#                                               on the GPU node: parity in float32 and bf16 on the GPU, the EPO
#                                               bench and the paper's code (float16, random Pythia-shaped weights,
#                                               made on the GPU) side by side at 70m, 1.4b and 12b, the scan bench
#                                               and EPO's bf16 quality; each step a JSON file and a log in
#                                               results-dir, and summary.json rewritten after every step (the
#                                               driver, CUDA and torch versions, each step, each speed goal).
#
# One deadline for the whole run (GPU_CHECK_DEADLINE seconds, default 450: under 8 minutes): each step gets what is
# left of it, at most its own limit, and a step with no time left is recorded as skipped. Every speed goal prints
# as PASS or FAIL with its ratio: the torch engine's seconds per EPO iteration at most GPU_CHECK_GOAL (default 0.5)
# times the paper's code's, at each size; MISSING where either time is missing (the paper's code not provided, or a
# step failed). Exit status: 0 all steps ran and every goal passed, 1 a step failed or ran out of time, 3 a goal
# failed or is missing (goals are printed but not enforced in quick mode).
#
# Without the paper's code (not packed, and no GPU_CHECK_DREAMY at run time) the reference steps are recorded as
# skipped, with one line saying how to provide it, and each goal says the reference is missing (not PASS).
#
# run's environment: PYTHON (default python3, must import torch with CUDA), GPU_CHECK_DEVICE (default cuda),
# GPU_CHECK_QUICK=1 (tiny settings at 70m only: checks the script itself, e.g. on a CPU with GPU_CHECK_DEVICE=cpu),
# GPU_CHECK_XZ (default xz; where it is not found, Python's lzma unpacks Node), GPU_CHECK_DREAMY (a dreamy checkout
# on this node, instead of the packed one). pack's: GPU_CHECK_XZ_LEVEL (default 6), GPU_CHECK_DREAMY (a dreamy
# checkout to carry).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

pack() {
  local out="${1:-gpu-check.tar}"
  local repo; repo="$(cd "$here/.." && pwd)"
  local work; work="$(mktemp -d)"
  local d="$work/gpu-check"
  mkdir -p "$d/js" "$d/fixtures" "$d/engines/torch"
  # CommonJS dependencies inside an ES module bundle call require(): give them Node's.
  local banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  for entry in torch-parity epo scan epo-quality; do
    "$repo/node_modules/.bin/esbuild" "$repo/bench/$entry.ts" --bundle --platform=node --format=esm --target=node20 \
      --log-level=warning --banner:js="$banner" --outfile="$d/js/$entry.mjs"
  done
  xz -T0 "-${GPU_CHECK_XZ_LEVEL:-6}" -c "$(command -v node)" > "$d/node.xz"
  mkdir -p "$d/reference"
  cp "$repo/bench/reference_epo.py" "$d/reference/"
  # The paper's code is not part of this repository: carried only from a checkout the operator names.
  if [ -n "${GPU_CHECK_DREAMY:-}" ]; then
    [ -f "$GPU_CHECK_DREAMY/dreamy/epo.py" ] ||
      { echo "gpu-check: GPU_CHECK_DREAMY=$GPU_CHECK_DREAMY: no dreamy/epo.py there; give a checkout of https://github.com/Confirm-Solutions/dreamy"; rm -rf "$work"; exit 2; }
    mkdir -p "$d/reference/dreamy"
    cp -r "$GPU_CHECK_DREAMY/dreamy" "$d/reference/dreamy/"
    [ ! -f "$GPU_CHECK_DREAMY/LICENSE" ] || cp "$GPU_CHECK_DREAMY/LICENSE" "$d/reference/dreamy/"
  else
    echo "gpu-check: no GPU_CHECK_DREAMY: the paper's code is not packed; run will skip the reference steps"
  fi
  cp -r "$repo/engines/torch/dreamsweep_torch" "$repo/engines/torch/pyproject.toml" "$d/engines/torch/"
  find "$d/engines" "$d/reference" -name __pycache__ -prune -exec rm -rf {} +
  cp -r "$repo/test/fixtures/models" "$repo/test/fixtures/golden" "$d/fixtures/"
  cp -r "$repo/demo/model" "$d/demo-model"
  cp "$repo/scripts/gpu-check.sh" "$d/"
  tar -C "$work" -cf "$out" gpu-check
  rm -rf "$work"
  echo "gpu-check: packed $(du -h "$out" | cut -f1) into $out; on the GPU node: tar xf $(basename "$out") && gpu-check/gpu-check.sh run"
}

run() {
  local results="${1:-$here/results}"
  local py="${PYTHON:-python3}"
  local device="${GPU_CHECK_DEVICE:-cuda}"
  local deadline=$(( $(date +%s) + ${GPU_CHECK_DEADLINE:-450} ))
  mkdir -p "$results"
  results="$(cd "$results" && pwd)"
  command -v "$py" >/dev/null || { echo "gpu-check: no $py; set PYTHON to a Python with PyTorch"; exit 2; }
  "$py" -c 'import torch' 2>/dev/null || { echo "gpu-check: $py cannot import torch; set PYTHON to a Python with PyTorch >= 2.0"; exit 2; }
  # The machine first, so that a run that stops early still says what it ran on.
  "$py" - "$results/environment.json" "$device" <<'PY'
import json, os, platform, subprocess, sys
import torch
out, device = sys.argv[1], sys.argv[2]
env = {"host": platform.node(), "python": platform.python_version(), "cpus": os.cpu_count(), "torch": torch.__version__,
       "torchCuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
       "cudaAvailable": torch.cuda.is_available(), "device": device}
for mod in ("transformers", "safetensors", "numpy"):
    try:
        env[mod] = __import__(mod).__version__
    except Exception as e:  # recorded, not fatal here: the steps that need it fail and say so
        env[mod] = f"missing: {e}"
try:
    q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
    env["nvidiaSmi"] = q.stdout.strip().splitlines() if q.returncode == 0 else f"failed: {q.stderr.strip()}"
    env["driver"] = q.stdout.split(",")[1].strip() if q.returncode == 0 and "," in q.stdout else None
except (OSError, subprocess.SubprocessError) as e:
    env["nvidiaSmi"] = f"not run: {e}"
if not env.get("driver") and os.path.exists("/proc/driver/nvidia/version"):
    env["driver"] = open("/proc/driver/nvidia/version").readline().strip()
if torch.cuda.is_available():
    env["cudaDriver"] = torch._C._cuda_getDriverVersion() if hasattr(torch._C, "_cuda_getDriverVersion") else None
    env["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
with open(out, "w") as f:
    json.dump(env, f, indent=1)
print(f"gpu-check: torch {env['torch']} (CUDA {env['torchCuda']}), driver {env.get('driver')}, {env.get('gpus', 'no GPU')}")
PY
  if [ "$device" != cpu ]; then
    "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
      { echo "gpu-check: torch $("$py" -c 'import torch; print(torch.__version__)') sees no CUDA device (check nvidia-smi and the driver), or set GPU_CHECK_DEVICE=cpu"; exit 2; }
  fi
  # Node, carried xz-compressed: unpacked by xz where the node has it, else by Python's lzma.
  if [ ! -x "$here/node" ]; then
    if command -v "${GPU_CHECK_XZ:-xz}" >/dev/null; then
      "${GPU_CHECK_XZ:-xz}" -dc "$here/node.xz" > "$here/node.tmp"
    else
      echo "gpu-check: no xz here; unpacking Node with Python's lzma"
      "$py" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$here/node.xz" "$here/node.tmp"
    fi
    chmod +x "$here/node.tmp" && mv "$here/node.tmp" "$here/node"
  fi
  export DREAMSWEEP_TORCH_PYTHON="$py" DREAMSWEEP_TORCH_ENGINE="$here/engines/torch" DREAMSWEEP_FIXTURES="$here/fixtures"
  export DREAMSWEEP_CACHE="$here/.cache"

  # The paper's code: GPU_CHECK_DREAMY on this node, else the checkout pack carried; without one, its steps are skipped.
  local dreamy="${GPU_CHECK_DREAMY:-$here/reference/dreamy}" no_ref=""
  if [ ! -f "$dreamy/dreamy/epo.py" ]; then
    no_ref="skipped: the paper's code is not here (no $dreamy/dreamy/epo.py); to time it, pack with GPU_CHECK_DREAMY=DIR or run with GPU_CHECK_DREAMY=DIR, DIR a checkout of https://github.com/Confirm-Solutions/dreamy"
    echo "gpu-check: reference steps $no_ref"
  fi

  local quick="${GPU_CHECK_QUICK:-}"
  local it70=10 it14=8 it12=5 windows=4096 batch=512 small=() ref=()
  if [ -n "$quick" ]; then it70=2 windows=64 batch=32 small=(--population 2 --children 4) ref=(--population 2 --children 4); fi
  local status=0
  local started; started=$(date +%s)
  step() { # name limit-seconds kind(node|py) script args...
    local name="$1" limit="$2" kind="$3" script="$4"; shift 4
    if [ "$kind" = py ] && [ -n "$no_ref" ]; then
      echo "$no_ref" > "$results/$name.log"; : > "$results/$name.json"
      echo "gpu-check: $name SKIPPED (no paper's code)"
      summarize
      return
    fi
    local left=$(( deadline - $(date +%s) ))
    if [ "$left" -lt 10 ]; then
      status=1
      echo "skipped: the overall deadline (GPU_CHECK_DEADLINE) has passed" > "$results/$name.log"; : > "$results/$name.json"
      echo "gpu-check: $name SKIPPED (deadline)"
      summarize
      return
    fi
    [ "$limit" -le "$left" ] || limit="$left"
    local t0; t0=$(date +%s)
    local cmd=("$here/node" "$here/js/$script.mjs")
    [ "$kind" = py ] && cmd=("$py" "$here/reference/$script.py" --dreamy "$dreamy")
    if timeout "$limit" "${cmd[@]}" "$@" > "$results/$name.json" 2> "$results/$name.log"; then
      echo "gpu-check: $name ok ($(( $(date +%s) - t0 )) s)"
    else
      status=1
      echo "gpu-check: $name FAILED ($(( $(date +%s) - t0 )) s of $limit): $(tail -n 3 "$results/$name.log" | tr '\n' ' ')"
    fi
    summarize
  }
  # summary.json after every step: the machine, each step's JSON (null where it failed or was skipped), each goal.
  summarize() {
    "$py" - "$results" "$(( $(date +%s) - started ))" "${GPU_CHECK_GOAL:-0.5}" "${quick:+quick}" > "$results/summary.line" <<'PY'
import json, os, sys
results, seconds, goal, quick = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "quick"
def skipped(name):
    try:
        with open(os.path.join(results, name + ".log")) as f:
            return f.readline().startswith("skipped:")
    except OSError:
        return False
def last_json(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None
steps = {}
for name in sorted(os.listdir(results)):
    if name.endswith(".log"):
        steps[name[:-4]] = last_json(os.path.join(results, name[:-4] + ".json"))
goals, lines = [], []
for size in ("70m", "1.4b", "12b"):
    if f"epo-{size}" not in steps and f"reference-{size}" not in steps:
        continue
    engine, ref = steps.get(f"epo-{size}"), steps.get(f"reference-{size}")
    runs = (engine or {}).get("runs") or []
    run = next((r for r in runs if r.get("prefixReuse")), runs[0] if runs else None)
    t, r = run and run.get("secondsPerIteration"), ref and ref.get("secondsPerIteration")
    ratio = round(t / r, 3) if t and r else None
    result = "MISSING" if ratio is None else "PASS" if ratio <= goal else "FAIL"
    goals.append({"size": size, "torchSeconds": t, "referenceSeconds": r, "ratio": ratio, "goal": goal, "result": result})
    gone = [n + (" (skipped)" if skipped(n) else "") for n, v in ((f"epo-{size}", t), (f"reference-{size}", r)) if not v]
    why = f"{ratio}x" if ratio is not None else "no ratio: " + ", ".join(gone) + " missing"
    secs = lambda v: f"{v} s" if v else "-"
    lines.append(f"gpu-check: goal EPO {size}: torch {secs(t)} / paper's code {secs(r)} per iteration = {why} (goal <= {goal}x): {result}")
try:
    with open(os.path.join(results, "environment.json")) as f:
        env = json.load(f)
except (OSError, ValueError):
    env = None
summary = {"environment": env, "seconds": seconds, "quick": quick, "goals": goals, "goalsMet": bool(goals) and all(g["result"] == "PASS" for g in goals), "steps": steps}
with open(os.path.join(results, "summary.json.tmp"), "w") as f:
    json.dump(summary, f, indent=1)
os.replace(os.path.join(results, "summary.json.tmp"), os.path.join(results, "summary.json"))
print("\n".join(lines + [f"gpu-check: wrote {results}/summary.json ({seconds} s){' (quick: goals not enforced)' if quick else ''}"]))
PY
  }
  # The goals first (EPO, the engine against the paper's code at each size), then parity, the scan and quality.
  step parity-float32 150 node torch-parity --device "$device" --dtype float32
  step epo-70m 120 node epo --engine torch --device "$device" --preset 70m --iters "$it70" ${small[@]+"${small[@]}"}
  step reference-70m 120 py reference_epo --device "$device" --preset 70m --iters "$it70" ${ref[@]+"${ref[@]}"}
  if [ -n "$quick" ]; then
    # bf16 parity only on a GPU: on 2 CPU cores bf16 kernels take minutes.
    [ "$device" = cpu ] || step parity-bfloat16 150 node torch-parity --device "$device" --dtype bfloat16
    step scan-70m 120 node scan --engine torch --device "$device" --preset 70m --windows "$windows" --batch "$batch"
  else
    # torch.compile (on by default on CUDA) against eager at 70m; the larger sizes eager, so that compiling at load
    # (tens of seconds per size on a cold node) does not eat the script's deadline.
    step epo-70m-eager 120 node epo --engine torch --device "$device" --preset 70m --iters "$it70" --compile off
    step epo-1.4b 120 node epo --engine torch --device "$device" --preset 1.4b --iters "$it14" --compile off
    step reference-1.4b 120 py reference_epo --device "$device" --preset 1.4b --iters "$it14"
    step epo-12b 180 node epo --engine torch --device "$device" --preset 12b --iters "$it12" --compile off
    step reference-12b 180 py reference_epo --device "$device" --preset 12b --iters "$it12"
    step parity-bfloat16 120 node torch-parity --device "$device" --dtype bfloat16
    step scan-12b 120 node scan --engine torch --device "$device" --preset 12b --windows "$windows" --batch "$batch"
    step scan-1.4b 90 node scan --engine torch --device "$device" --preset 1.4b --windows "$windows" --batch "$batch"
    # EPO's frontier quality in bf16 against float32 on the demo model (a bench: compare the two files).
    step quality-float32 90 node epo-quality --model "$here/demo-model" --engine torch --device "$device" --dtype float32
    step quality-bfloat16 90 node epo-quality --model "$here/demo-model" --engine torch --device "$device" --dtype bfloat16
  fi
  cat "$results/summary.line"
  local goals; goals="$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["goalsMet"])' "$results/summary.json")"
  [ "$status" -ne 0 ] || [ -n "$quick" ] || [ "$goals" = True ] || status=3
  exit "$status"
}

case "${1:-}" in
  pack) shift; pack "$@" ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 pack [gpu-check.tar] | run [results-dir]"; exit 2 ;;
esac
