// A dreamsweep worker process: polls the model and/or aux task queues, hosts the activities with a model
// cache, and shuts down gracefully on SIGTERM/SIGINT: in-flight units are cancelled after the grace
// period, checkpoint, and are retried (resuming) on another worker.
import { appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger, Worker, type LogLevel, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import type { StorageSpec } from '../activities/context.js';
import { closeS3Clients, openStore, type ArtifactStore } from '../core/store/index.js';
import { createWorkerMetrics } from './metrics.js';
import { createModelCache } from './model-cache.js';
import { temporalConnectionOptions, type TemporalTarget } from './connection.js';
import { DEFAULT_OUTAGE_WAIT_S, heartbeatWaiting, patientStore } from './patient-store.js';
import { userErrorInterceptors } from './user-errors.js';

export interface WorkerOptions {
  temporal: TemporalTarget;
  /** Task queues to poll: the model queue (EPO, baselines, scans) and/or the aux queue (plans, merges). */
  queues: string[];
  /** Concurrent activities per queue. wasm is single-threaded: more than 1 only interleaves. */
  concurrency?: number;
  backend?: string;
  /** tfjs, torch or auto; wins over the sweep file's model.engine (as dtype and device do). */
  engine?: string;
  /** wasm/cpu: engine threads per model (default 1); one unit's batches spread over them. */
  threads?: number;
  dtype?: string;
  device?: string;
  /** How long in-flight units may run on after a shutdown signal before they are cancelled (and checkpoint). */
  shutdownGraceMs?: number;
  logLevel?: LogLevel;
  log?: (line: string) => void;
  /** How long one store call waits out an outage before the unit's attempt fails (default 600 s). */
  outageWaitMs?: number;
  /** Write the SDK's own log lines (activity failures with stacks, slow workflow tasks) here instead of stderr. */
  sdkLogFile?: string;
  /** Serve Prometheus metrics and /healthz on this port; the SDK's own metrics ride along from port + 1 (loopback). */
  metricsPort?: number;
}

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

let runtimeInstalled = false;

// The workflow code, bundled once per process: each queue's worker would otherwise bundle it again (seconds of
// CPU at every worker start, which a sweep's churn repeats).
let workflowBundle: Promise<WorkflowBundle> | undefined;

/** Runs until `signal` aborts (or SIGTERM/SIGINT when `handleSignals`), then drains and returns. */
export async function runWorker(options: WorkerOptions, signal?: AbortSignal): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const sdkMetrics = options.metricsPort ? `127.0.0.1:${options.metricsPort + 1}` : undefined;
  if (!runtimeInstalled) {
    Runtime.install({
      logger: options.sdkLogFile
        ? new DefaultLogger(options.logLevel ?? 'WARN', (entry) => {
            const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
            appendFileSync(options.sdkLogFile!, `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} ${entry.level} ${entry.message}${meta}\n`);
          })
        : new DefaultLogger(options.logLevel ?? 'WARN'),
      shutdownSignals: [],
      ...(sdkMetrics && { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetrics } } } }),
    });
    runtimeInstalled = true;
  }
  const metrics = createWorkerMetrics();
  const metricsServer = options.metricsPort ? await metrics.serve(options.metricsPort, sdkMetrics && `http://${sdkMetrics}/metrics`) : undefined;
  const connection = await NativeConnection.connect(await temporalConnectionOptions(options.temporal));
  const stores = new Map<string, ArtifactStore>();
  const models = createModelCache({ backend: options.backend, engine: options.engine, dtype: options.dtype, device: options.device, threads: options.threads, log });
  const activities = createActivities({
    store: (s: StorageSpec) => {
      const key = JSON.stringify(s);
      let st = stores.get(key);
      if (!st) {
        const raw = openStore(s.uri, { endpoint: s.endpoint, region: s.region, forcePathStyle: s.forcePathStyle });
        st = patientStore(raw, {
          deadlineMs: options.outageWaitMs ?? DEFAULT_OUTAGE_WAIT_S * 1000,
          onWait: (what, firstOfTry) => {
            heartbeatWaiting(what);
            if (firstOfTry) log(`waiting for ${what}`);
          },
          onRecovered: () => {
            heartbeatWaiting(undefined);
            log(`${raw.uri}: the store answers again`);
          },
        });
        stores.set(key, st);
      }
      return st;
    },
    models,
    metrics,
    workerName: `${hostname()}:${process.pid}`,
  });
  const grace = options.shutdownGraceMs ?? 10_000;
  try {
    workflowBundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: Runtime.instance().logger });
    workflowBundle.catch(() => (workflowBundle = undefined));
    const bundle = await workflowBundle;
    const workers = await Promise.all(
      options.queues.map((taskQueue) =>
        Worker.create({
          connection,
          namespace: options.temporal.namespace,
          taskQueue,
          workflowBundle: bundle,
          activities,
          interceptors: { activity: [userErrorInterceptors] },
          maxConcurrentActivityTaskExecutions: options.concurrency ?? 1,
          shutdownGraceTime: grace,
        }),
      ),
    );
    // Told to stop while starting (the embedded default's launch ending before its workers came up): a worker
    // that never ran cannot be shut down (only a running one can), so it must not start polling at all.
    if (signal?.aborted) {
      log(`worker ${process.pid} stopped before polling`);
      return;
    }
    log(`worker ${hostname()}:${process.pid} polling ${options.queues.join(', ')} on ${options.temporal.address ?? 'the embedded server'}`);
    metrics.setReady(true);
    const stop = () => {
      metrics.setReady(false);
      workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
    };
    signal?.addEventListener('abort', stop, { once: true });
    await Promise.all(workers.map((w) => w.run()));
    log(`worker ${process.pid} stopped`);
  } finally {
    await models.dispose();
    await connection.close();
    closeS3Clients();
    metricsServer?.close();
  }
}
