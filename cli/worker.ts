// `dreamsweep worker`: a worker process for a cluster (or beside the embedded server). SIGTERM/SIGINT
// drain it: no new units, in-flight ones get --shutdown-grace to finish, then checkpoint and move on.
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { UserError } from '../core/errors.js';
import { describeBackend, initBackend, requestedBackend } from '../core/model/backend.js';
import { autoEngine, resolveEngine } from '../core/model/open-engine.js';
import { probeTorch, torchPython } from '../core/model/torch-env.js';
import { connectOrStartEmbedded } from '../infra/embedded.js';
import { addEngineOptions, backendOption, type EngineCliOptions } from './engine-options.js';
import { DEFAULT_OUTAGE_WAIT_S } from '../workers/patient-store.js';
import { runWorker } from '../workers/worker.js';

export function registerWorker(program: Command): void {
  const cmd = program
    .command('worker')
    .description('run a worker that executes sweep units (EPO, baselines, scans, merges)')
    .option('--temporal-address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS, else the embedded server)')
    .option('--namespace <ns>', 'Temporal namespace', process.env.TEMPORAL_NAMESPACE ?? 'default')
    .option('--queues <list>', 'task queues to poll, comma-separated', 'dreamsweep-model,dreamsweep-aux')
    .option('--concurrency <n>', 'concurrent units per queue', '1')
    .addOption(backendOption())
    .option('--threads <n>', "wasm/cpu: engine threads per model, one unit's batches spread over them (default: the cores this process may use / --concurrency)")
    .option('--shutdown-grace <seconds>', 'seconds in-flight units may run on after SIGTERM before they checkpoint and stop', '10')
    .option('--outage-wait <seconds>', 'how long a store call waits for the artifact store to come back before the unit attempt fails', String(DEFAULT_OUTAGE_WAIT_S))
    .option('--api-key-env <var>', 'environment variable holding a Temporal Cloud API key')
    .option('--tls-cert <file>', 'client certificate (PEM) for mTLS to Temporal')
    .option('--tls-key <file>', 'client private key (PEM) for mTLS to Temporal')
    .option('--tls-ca <file>', 'CA certificate (PEM) of the Temporal server')
    .option('--tls-server-name <name>', 'the name on the Temporal server certificate')
    .option('--metrics-port <port>', 'serve Prometheus /metrics and /healthz on this port (the SDK uses port + 1 on loopback)');
  addEngineOptions(cmd).action(
    async (
      o: EngineCliOptions & {
        temporalAddress?: string;
        namespace: string;
        queues: string;
        concurrency: string;
        backend?: string;
        shutdownGrace: string;
        threads?: string;
        outageWait: string;
        apiKeyEnv?: string;
        metricsPort?: string;
        tlsCert?: string;
        tlsKey?: string;
        tlsCa?: string;
        tlsServerName?: string;
      },
    ) => {
      const concurrency = Number(o.concurrency);
      const grace = Number(o.shutdownGrace);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new UserError('E_CLI', `--concurrency: expected an integer >= 1, got ${o.concurrency}`);
      if (!Number.isFinite(grace) || grace < 0) throw new UserError('E_CLI', `--shutdown-grace: expected seconds >= 0, got ${o.shutdownGrace}`);
      const threads = o.threads === undefined ? Math.max(1, Math.floor(availableParallelism() / concurrency)) : Number(o.threads);
      if (!Number.isInteger(threads) || threads < 1) throw new UserError('E_CLI', `--threads: expected an integer >= 1, got ${o.threads}`);
      const outageWait = Number(o.outageWait);
      if (!Number.isFinite(outageWait) || outageWait < 0) throw new UserError('E_CLI', `--outage-wait: expected seconds >= 0, got ${o.outageWait}`);
      if (!o.tlsCert !== !o.tlsKey) throw new UserError('E_CLI', '--tls-cert and --tls-key: give both (mTLS) or neither');
      const queues = o.queues
        .split(',')
        .map((q) => q.trim())
        .filter(Boolean);
      // No queue: a worker that polls nothing would sit idle (or end at once) with no word of why.
      if (!queues.length)
        throw new UserError('E_CLI', `--queues: expected task queue names, comma-separated, got ${JSON.stringify(o.queues)}; e.g. dreamsweep-model,dreamsweep-aux`);
      const metricsPort = o.metricsPort === undefined ? undefined : Number(o.metricsPort);
      if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort > 0 && metricsPort < 65535)) {
        throw new UserError('E_CLI', `--metrics-port: expected a port number, got ${o.metricsPort}`);
      }
      // A backend named by option or environment starts now, so a GPU node without its driver fails here,
      // once, instead of failing every unit it takes. Without one, each sweep file's model.backend applies.
      // Likewise the torch engine: a missing Python environment is one line now, not one failure per unit.
      const engine = o.engine ?? (process.env['DREAMSWEEP_ENGINE'] || undefined);
      // Without an engine named, each sweep file's model.engine applies; its default, auto, is decided on this machine.
      const auto = engine === undefined && requestedBackend(o.backend) === undefined ? autoEngine() : undefined;
      if (auto) process.stderr.write(`dreamsweep worker: engine auto picks ${auto.engine} here: ${auto.why}\n`);
      if (engine !== undefined ? resolveEngine(engine, o.backend) === 'torch' : auto?.engine === 'torch') {
        if (engine !== undefined) process.stderr.write(`dreamsweep worker: engine torch (${torchPython()})\n`);
        // A device this machine lacks (cuda:7 on a 1-GPU node) would fail every unit it takes: refused now.
        if (o.device !== undefined && o.device.startsWith('cuda')) {
          const probe = await probeTorch();
          if (!probe.ok) throw new UserError('E_TORCH_MISSING', `the torch engine cannot start: ${probe.error}`);
          const has = o.device === 'cuda' ? /\bcuda:\d+/.test(probe.device!) : new RegExp(`\\b${o.device}\\b`).test(probe.device!);
          if (!has) throw new UserError('E_TORCH_DEVICE', `--device ${o.device}: this machine has no such device (${probe.device}); name one it has, or auto`);
        }
      } else if (requestedBackend(o.backend) !== undefined) {
        await initBackend(o.backend);
        process.stderr.write(`dreamsweep worker: backend ${describeBackend()}\n`);
      }
      let address = o.temporalAddress ?? process.env.TEMPORAL_ADDRESS;
      const embedded = address ? undefined : await connectOrStartEmbedded();
      address ??= embedded!.address;
      const ctl = new AbortController();
      const stop = (sig: string) => {
        process.stderr.write(`dreamsweep worker: ${sig}: draining (grace ${grace}s)\n`);
        ctl.abort();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      try {
        await runWorker(
          {
            temporal: {
              address,
              namespace: o.namespace,
              apiKeyEnv: o.apiKeyEnv,
              tls:
                o.tlsCert || o.tlsKey || o.tlsCa || o.tlsServerName
                  ? { clientCert: o.tlsCert, clientKey: o.tlsKey, serverRootCACertificate: o.tlsCa, serverName: o.tlsServerName }
                  : undefined,
            },
            queues,
            concurrency,
            threads,
            backend: o.backend,
            engine,
            dtype: o.dtype,
            device: o.device,
            shutdownGraceMs: grace * 1000,
            outageWaitMs: outageWait * 1000,
            metricsPort,
          },
          ctl.signal,
        );
      } finally {
        await embedded?.stop();
      }
    },
  );
}
