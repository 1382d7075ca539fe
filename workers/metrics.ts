// Prometheus metrics of a worker: units running, EPO iterations, checkpoint age, plus the Temporal SDK's
// own metrics (served by the SDK on an internal port and appended), all at http://HOST:PORT/metrics.
// /healthz answers 200 while the worker runs (readiness probe).
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { UnitMetrics } from '../activities/context.js';

export interface WorkerMetrics extends UnitMetrics {
  registry: Registry;
  /** Starts the HTTP endpoint; `sdkMetricsUrl` is the Temporal SDK's Prometheus endpoint to append. */
  serve(port: number, sdkMetricsUrl?: string): Promise<Server>;
  setReady(ready: boolean): void;
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dreamsweep_process_' });
  const running = new Gauge({ name: 'dreamsweep_units_running', help: 'Units executing on this worker', labelNames: ['kind'], registers: [registry] });
  const finished = new Counter({ name: 'dreamsweep_units_finished_total', help: 'Units finished on this worker', labelNames: ['kind', 'outcome'], registers: [registry] });
  const iterations = new Counter({ name: 'dreamsweep_epo_iterations_total', help: 'EPO iterations completed (rate() gives iterations/s)', registers: [registry] });
  const lastCheckpoint = new Map<string, number>();
  new Gauge({
    name: 'dreamsweep_checkpoint_age_seconds',
    help: 'Seconds since the oldest running unit last checkpointed (0 when none runs)',
    registers: [registry],
    collect() {
      const now = Date.now();
      this.set(Math.max(0, ...[...lastCheckpoint.values()].map((t) => (now - t) / 1000)));
    },
  });
  let ready = false;
  return {
    registry,
    unitStarted(id, kind) {
      running.inc({ kind });
      lastCheckpoint.set(id, Date.now());
    },
    unitEnded(id, kind, outcome) {
      running.dec({ kind });
      finished.inc({ kind, outcome });
      lastCheckpoint.delete(id);
    },
    iteration() {
      iterations.inc();
    },
    checkpointed(id) {
      lastCheckpoint.set(id, Date.now());
    },
    setReady(r) {
      ready = r;
    },
    serve(port, sdkMetricsUrl) {
      const server = createServer(async (req, res) => {
        if (req.url === '/healthz') {
          res.writeHead(ready ? 200 : 503).end(ready ? 'ok\n' : 'starting\n');
          return;
        }
        if (req.url !== '/metrics') {
          res.writeHead(404).end();
          return;
        }
        let body = await registry.metrics();
        if (sdkMetricsUrl) {
          body += await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(2_000) })
            .then((r) => r.text())
            .catch(() => '# temporal sdk metrics unavailable\n');
        }
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      });
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, () => resolve(server));
      });
    },
  };
}
