# syntax=docker/dockerfile:1
# dreamsweep GPU worker: Node 20 and the PyTorch engine (engines/torch, --engine torch). PyPI's torch wheel
# carries its CUDA user-space libraries (CUDA 13 for the pinned torch 2.15.0, with cuDNN, cuBLAS, NCCL), so
# the base is a plain Python image; the NVIDIA driver (>= 580 for CUDA 13) comes from the host through the
# NVIDIA container toolkit. The engine's Python environment is installed from engines/torch/pyproject.toml's
# pins into /opt/torch-engine; the tfjs backends stay available (wasm) for a worker asked for --engine tfjs.
#
#   docker build -f infra/docker/worker-gpu.Dockerfile -t dreamsweep/worker-gpu:0.1.0 .
#
# Check a node with it: docker run --rm --gpus all --entrypoint node dreamsweep/worker-gpu:0.1.0 bin/dreamsweep.js backends
FROM node:20-bookworm-slim AS node

FROM --platform=linux/amd64 python:3.11-slim-bookworm AS base
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
COPY --from=node /usr/local/include/node /usr/local/include/node
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

FROM base AS deps
# Compilers only for node-gyp's fallback, should a prebuilt native addon not match.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM base AS torch
COPY engines/torch/pyproject.toml /tmp/pyproject.toml
# The pins are pyproject.toml's (read with tomllib), resolved by pip with their CUDA dependencies.
RUN python -m venv /opt/torch-engine \
 && /opt/torch-engine/bin/pip install --no-cache-dir --disable-pip-version-check \
      $(python -c "import tomllib; print(' '.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))") \
 && /opt/torch-engine/bin/python -c "import torch, safetensors"

FROM base
RUN groupadd --system --gid 10001 dreamsweep \
 && useradd --system --uid 10001 --gid dreamsweep --create-home --home-dir /home/dreamsweep dreamsweep \
 && mkdir -p /cache \
 && chown dreamsweep:dreamsweep /cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=torch /opt/torch-engine /opt/torch-engine
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY core ./core
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
COPY engines ./engines
COPY infra/*.ts ./infra/

ENV NODE_ENV=production \
    DREAMSWEEP_ENGINE=torch \
    DREAMSWEEP_TORCH_PYTHON=/opt/torch-engine/bin/python \
    DREAMSWEEP_CACHE=/cache \
    PYTHONDONTWRITEBYTECODE=1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

USER dreamsweep
EXPOSE 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/dreamsweep.js"]
# --device cuda: a node whose driver is too old for the wheel's CUDA fails loudly (E_TORCH_DEVICE) instead of
# running a 12b unit on the CPU about a thousand times slower.
CMD ["worker", "--queues", "dreamsweep-model", "--concurrency", "1", "--engine", "torch", "--device", "cuda", "--shutdown-grace", "60", "--metrics-port", "9464"]
