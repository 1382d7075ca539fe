# syntax=docker/dockerfile:1
# dreamsweep GPU worker: Node 20 on an NVIDIA CUDA 11.8 + cuDNN 8 runtime, with both GPU backends of
# core/model/backend.ts installed:
#   - tensorflow: @tensorflow/tfjs-node-gpu 4.x. Its install script downloads libtensorflow 2.x for
#     Linux x86-64 (GPU builds exist for no other platform), built against CUDA 11.2 and cuDNN 8.1; the
#     CUDA 11.8 runtime here satisfies that (CUDA 11 minor-version compatibility). Needs an NVIDIA
#     driver >= 450 on the host. Not checked on Hopper (H100/H200) GPUs, for which these builds carry no
#     native code: expect a slow first start while the driver JIT-compiles PTX (cached in CUDA_CACHE_PATH).
#   - webgpu: Dawn's `webgpu` package + @tensorflow/tfjs-backend-webgpu over Vulkan (libvulkan1 and the
#     NVIDIA ICD below; the container needs NVIDIA_DRIVER_CAPABILITIES to include `graphics`). Both are
#     optionalDependencies of the project, pinned by package-lock.json, so `npm ci` installs them.
#
#   docker build -f infra/docker/worker-gpu.Dockerfile -t dreamsweep/worker-gpu:0.1.0 .
#
# The build downloads libtensorflow from storage.googleapis.com: it needs that network access.
ARG TFJS_VERSION=4.22.0

FROM node:20-bookworm-slim AS node

FROM --platform=linux/amd64 nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 AS base
# Node's official binaries need glibc >= 2.28; Ubuntu 22.04 has 2.35.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
COPY --from=node /usr/local/include/node /usr/local/include/node
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates libvulkan1 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /etc/vulkan/icd.d \
 && printf '%s\n' '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3"}}' \
      > /etc/vulkan/icd.d/nvidia_icd.json

FROM base AS deps
ARG TFJS_VERSION
# Compilers only for node-gyp's fallback, should a prebuilt native addon not match.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# tfjs-node-gpu downloads libtensorflow when installed, so it cannot be a dependency of the project
# (docs/engine.md, "Backends"): it is added here only.
RUN npm ci --omit=dev --no-audit --no-fund \
 && test -f node_modules/webgpu/package.json \
 && npm install --omit=dev --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@${TFJS_VERSION}

FROM base
RUN groupadd --system --gid 10001 dreamsweep \
 && useradd --system --uid 10001 --gid dreamsweep --create-home --home-dir /home/dreamsweep dreamsweep \
 && mkdir -p /cache \
 && chown dreamsweep:dreamsweep /cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY core ./core
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
COPY infra/*.ts ./infra/

ENV NODE_ENV=production \
    DREAMSWEEP_BACKEND=tensorflow \
    DREAMSWEEP_CACHE=/cache \
    CUDA_CACHE_PATH=/cache/cuda-jit \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics

USER dreamsweep
EXPOSE 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/dreamsweep.js"]
CMD ["worker", "--queues", "dreamsweep-model", "--concurrency", "1", "--backend", "tensorflow", "--shutdown-grace", "60", "--metrics-port", "9464"]
