#!/usr/bin/env bash
# Installs @tensorflow/tfjs-node (the `tensorflow` backend, CPU) where only package registries are reachable,
# to check that backend (test/core/model/backend-tensorflow.test.ts, bench/ with --backend tensorflow).
# A developer's tool, not a production install: the GPU image installs tfjs-node-gpu the usual way.
#
# tfjs-node 4.22 links libtensorflow 2.9.1's C API, which its install script downloads from
# storage.googleapis.com. PyPI's tensorflow-cpu 2.9.1 wheel carries the same C API inside its Python
# extension (_pywrap_tensorflow_internal.so) plus the C headers; that extension also refers to CPython
# symbols, which the C API never calls, so a small stub library defines them. The addon is then built from
# source with node-gyp (its prebuilt download also lives on googleapis). Undone by the next `npm ci`.
#
# Usage: bash scripts/tfjs-node-offline.sh      (needs: npm, pip, gcc, unzip, patchelf; about 1 GB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."
TFJS=4.22.0
TF=2.9.1 # what tfjs-node $TFJS expects (its scripts/deps-constants.js)
for tool in pip gcc unzip patchelf readelf; do
  command -v "$tool" >/dev/null || { echo "tfjs-node-offline: $tool is needed (apt-get install ${tool/readelf/binutils})"; exit 2; }
done

npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$TFJS"

wheels=.state/tensorflow-wheel
mkdir -p "$wheels"
ls "$wheels"/tensorflow_cpu-$TF-*.whl >/dev/null 2>&1 ||
  pip download --no-deps --only-binary=:all: --python-version 3.10 --platform manylinux_2_17_x86_64 -d "$wheels" "tensorflow-cpu==$TF"
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
unzip -q -o "$wheels"/tensorflow_cpu-$TF-*.whl -d "$unpacked" \
  'tensorflow/libtensorflow_framework.so.2' 'tensorflow/python/_pywrap_tensorflow_internal.so' \
  'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*'

deps=node_modules/@tensorflow/tfjs-node/deps
rm -rf "$deps"
mkdir -p "$deps/lib" "$deps/include/tensorflow/core"
cp -r "$unpacked/tensorflow/include/tensorflow/c" "$deps/include/tensorflow/"
cp -r "$unpacked/tensorflow/include/tensorflow/core/platform" "$deps/include/tensorflow/core/"

# The stub: data symbols (types, exception objects) as zeroed blocks, functions returning 0.
pywrap="$unpacked/tensorflow/python/_pywrap_tensorflow_internal.so"
readelf -W --dyn-syms "$pywrap" | awk '$7 == "UND" && $8 ~ /^_?Py/ { sub(/@.*/, "", $8); print $8 }' | sort -u |
  while read -r sym; do
    if [[ $sym =~ (Type|Struct)$ || $sym =~ ^PyExc_ ]]; then
      echo "__attribute__((visibility(\"default\"), aligned(64))) char $sym[1024];"
    else
      echo "__attribute__((visibility(\"default\"))) void *$sym(void) { return 0; }"
    fi
  done >"$unpacked/pystub.c"
gcc -shared -fPIC -O1 -w -o "$deps/lib/libtfpystub.so" "$unpacked/pystub.c"

# install.js skips its download when deps/lib/libtensorflow.so.$TF exists. The extension's SONAME stays
# _pywrap_tensorflow_internal.so (the addon records that name), and its RUNPATH ($ORIGIN) finds the stub.
mv "$pywrap" "$deps/lib/libtensorflow.so.$TF"
patchelf --add-needed libtfpystub.so "$deps/lib/libtensorflow.so.$TF" # one edit per call: combined edits corrupt it
ln -sf "libtensorflow.so.$TF" "$deps/lib/_pywrap_tensorflow_internal.so"
ln -sf "libtensorflow.so.$TF" "$deps/lib/libtensorflow.so"
mv "$unpacked/tensorflow/libtensorflow_framework.so.2" "$deps/lib/libtensorflow_framework.so.$TF"
ln -sf "libtensorflow_framework.so.$TF" "$deps/lib/libtensorflow_framework.so.2"
ln -sf "libtensorflow_framework.so.$TF" "$deps/lib/libtensorflow_framework.so"

# Builds lib/napi-v8/tfjs_binding.node with node-gyp (the prebuilt addon's download fails here).
npm rebuild @tensorflow/tfjs-node --foreground-scripts
TF_CPP_MIN_LOG_LEVEL=2 node -e "import('@tensorflow/tfjs-node').then((tf) => console.log('tfjs-node', tf.version['tfjs-node'], 'ready on backend', tf.getBackend()))"
