#!/usr/bin/env bash
# The torch engine's GPU acceptance in one script, for a GPU node that has only its own Python with PyTorch
# (>= 2.0; no Node, no package registry). Two steps:
#
#   scripts/gpu-check.sh pack [gpu-check.tar]   here, in a checkout with node_modules: bundles the benches with
#                                               esbuild, and carries Node (xz), engines/torch and the fixtures.
#   tar xf gpu-check.tar && gpu-check/gpu-check.sh run [results-dir]
#                                               on the GPU node: parity in float32 and bf16 on the GPU, then the
#                                               EPO benches at 70m, 1.4b and 12b and the scan bench, each
#                                               result a JSON file plus summary.json; about 5 minutes on an H200.
#
# run's environment: PYTHON (default python3, must import torch with CUDA), GPU_CHECK_DEVICE (default cuda),
# GPU_CHECK_QUICK=1 (tiny settings: checks the script itself, e.g. on a CPU).
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
  xz -T0 -6 -c "$(command -v node)" > "$d/node.xz"
  cp -r "$repo/engines/torch/dreamsweep_torch" "$repo/engines/torch/pyproject.toml" "$d/engines/torch/"
  find "$d/engines" -name __pycache__ -prune -exec rm -rf {} +
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
  mkdir -p "$results"
  results="$(cd "$results" && pwd)"
  command -v "$py" >/dev/null || { echo "gpu-check: no $py; set PYTHON to a Python with PyTorch"; exit 2; }
  "$py" -c 'import torch' 2>/dev/null || { echo "gpu-check: $py cannot import torch; set PYTHON to a Python with PyTorch >= 2.0"; exit 2; }
  if [ "$device" != cpu ]; then
    "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
      { echo "gpu-check: torch $("$py" -c 'import torch; print(torch.__version__)') sees no CUDA device (check nvidia-smi and the driver), or set GPU_CHECK_DEVICE=cpu"; exit 2; }
  fi
  [ -x "$here/node" ] || { xz -dc "$here/node.xz" > "$here/node.tmp" && chmod +x "$here/node.tmp" && mv "$here/node.tmp" "$here/node"; }
  export DREAMSWEEP_TORCH_PYTHON="$py" DREAMSWEEP_TORCH_ENGINE="$here/engines/torch" DREAMSWEEP_FIXTURES="$here/fixtures"
  export DREAMSWEEP_CACHE="$here/.cache"

  local quick="${GPU_CHECK_QUICK:-}"
  local it70=10 it14=8 it12=5 windows=4096 batch=512 small=()
  if [ -n "$quick" ]; then it70=2 it14=2 it12=2 windows=64 batch=32 small=(--population 2 --children 4); fi
  local status=0
  local started; started=$(date +%s)
  step() { # name timeout-seconds script args...
    local name="$1" limit="$2" script="$3"; shift 3
    local t0; t0=$(date +%s)
    if timeout "$limit" "$here/node" "$here/js/$script.mjs" "$@" > "$results/$name.json" 2> "$results/$name.log"; then
      echo "gpu-check: $name ok ($(( $(date +%s) - t0 )) s)"
    else
      status=1
      echo "gpu-check: $name FAILED ($(( $(date +%s) - t0 )) s): $(tail -n 3 "$results/$name.log" | tr '\n' ' ')"
    fi
  }
  step parity-float32 150 torch-parity --device "$device" --dtype float32
  step parity-bfloat16 150 torch-parity --device "$device" --dtype bfloat16
  step epo-70m 120 epo --engine torch --device "$device" --preset 70m --iters "$it70" ${small[@]+"${small[@]}"}
  if [ -n "$quick" ]; then
    step epo-70m-float32 120 epo --engine torch --device "$device" --preset 70m --dtype float32 --iters 2 ${small[@]+"${small[@]}"}
    step scan-70m 120 scan --engine torch --device "$device" --preset 70m --windows "$windows" --batch "$batch"
  else
    step epo-1.4b 150 epo --engine torch --device "$device" --preset 1.4b --iters "$it14"
    step epo-12b 240 epo --engine torch --device "$device" --preset 12b --iters "$it12"
    step scan-1.4b 120 scan --engine torch --device "$device" --preset 1.4b --windows "$windows" --batch "$batch"
    step scan-12b 150 scan --engine torch --device "$device" --preset 12b --windows "$windows" --batch "$batch"
    # EPO's frontier quality in bf16 against float32 on the demo model (a bench: compare the two files).
    step quality-float32 120 epo-quality --model "$here/demo-model" --engine torch --device "$device" --dtype float32
    step quality-bfloat16 120 epo-quality --model "$here/demo-model" --engine torch --device "$device" --dtype bfloat16
  fi
  # One summary: each step's JSON (or null where it failed), the machine and the time taken.
  "$py" - "$results" "$(( $(date +%s) - started ))" <<'PY'
import json, os, platform, sys
results, seconds = sys.argv[1], int(sys.argv[2])
steps = {}
for name in sorted(os.listdir(results)):
    if name.endswith(".json") and name != "summary.json":
        try:
            with open(os.path.join(results, name)) as f:
                steps[name[:-5]] = json.loads(f.read().strip().splitlines()[-1])
        except (ValueError, IndexError):
            steps[name[:-5]] = None
import torch
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
with open(os.path.join(results, "summary.json"), "w") as f:
    json.dump({"torch": torch.__version__, "gpu": gpu, "host": platform.node(), "seconds": seconds, "steps": steps}, f, indent=1)
print(f"gpu-check: wrote {results}/summary.json ({seconds} s)")
PY
  exit "$status"
}

case "${1:-}" in
  pack) shift; pack "$@" ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 pack [gpu-check.tar] | run [results-dir]"; exit 2 ;;
esac
