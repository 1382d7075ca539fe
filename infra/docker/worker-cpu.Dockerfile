# syntax=docker/dockerfile:1
# dreamsweep CPU worker: Node 20, production dependencies only, the wasm backend. Serves the aux queue
# (plans, merges, the sweep workflow itself) and, on machines without a GPU, the model queue.
#
#   docker build -f infra/docker/worker-cpu.Dockerfile -t dreamsweep/worker-cpu:0.1.0 .
#
# Build from the repository root. The ignore file beside this one (worker-cpu.Dockerfile.dockerignore)
# keeps node_modules, .git and test data out of the context (BuildKit, Docker 23+).
FROM node:20-bookworm-slim

# tini as PID 1: forwards SIGTERM to node (which then drains) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 dreamsweep \
 && useradd --system --uid 10001 --gid dreamsweep --create-home --home-dir /home/dreamsweep dreamsweep \
 && mkdir -p /cache \
 && chown dreamsweep:dreamsweep /cache

WORKDIR /app
COPY package.json package-lock.json ./
# tsx is a runtime dependency (the bin runs TypeScript sources), so --omit=dev keeps everything needed.
# The webgpu packages (optional dependencies, ~150 MB of Dawn builds) serve only the GPU image.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && rm -rf node_modules/webgpu node_modules/@tensorflow/tfjs-backend-webgpu

# The sources the worker runs (cli/main.ts imports every command). test/infra checks this list against
# the imports of these directories.
COPY tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY core ./core
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
COPY infra/*.ts ./infra/

ENV NODE_ENV=production \
    DREAMSWEEP_BACKEND=wasm \
    DREAMSWEEP_CACHE=/cache

USER dreamsweep
EXPOSE 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/dreamsweep.js"]
CMD ["worker", "--backend", "wasm", "--shutdown-grace", "60", "--metrics-port", "9464"]
