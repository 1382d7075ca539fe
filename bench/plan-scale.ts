// Planning at scale against the real Temporal dev server: a sweep of N units (2 layers x 128 neurons of the
// tiny fixture model x N/256 seeds, plus the report) is planned and started, cancelled, and resumed, with
// only an aux worker (so no unit runs: this measures orchestration, not compute). Prints each phase's
// seconds, the plan's size in the store and the largest Temporal payload of the histories, as JSON.
// Usage: tsx bench/plan-scale.ts [--units 1000000]
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { startTemporal } from '../infra/servers.js';
import { loadSweepFile } from '../core/sweep/spec.js';
import { sweepPlanKey } from '../core/sweep/layout.js';
import { sweepIdOf } from '../core/sweep/plan.js';
import { progressQuery, sweepWorkflow, type SweepInput } from '../workflows/sweep.js';

const { values: args } = parseArgs({ options: { units: { type: 'string', default: '1000000' } } });
const seeds = Math.max(1, Math.round(Number(args.units) / 256));
const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-plan-scale-'));
const logDir = path.join(dir, 'logs');
const log = (line: string) => process.stderr.write(`[plan-scale] ${line}\n`);
const BIN = path.resolve('bin/dreamsweep.js');

const temporal = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite'), logDir });
const file = path.join(dir, 'plan-scale.yaml');
writeFileSync(
  file,
  stringify({
    name: 'plan-scale',
    model: { path: path.resolve('test/fixtures/models/tiny-parallel') },
    study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 4 },
    methods: { epo: { iters: 1, population: 1, lambdaMin: 0, lambdaMax: 0, children: 2, topk: 4, restartEvery: 0 } },
    targets: { neurons: [0, 1].flatMap((layer) => Array.from({ length: 128 }, (_, index) => ({ layer, index }))), seeds: Array.from({ length: seeds }, (_, i) => i) },
    storage: { uri: path.join(dir, 'artifacts') },
    temporal: { address: temporal.address },
    concurrency: { units: 64 },
  }),
);
const spec = loadSweepFile(file);
const workerLog = path.join(logDir, 'aux-worker.log');
const fd = openSync(workerLog, 'a');
const worker = spawn(process.execPath, [BIN, 'worker', '--temporal-address', temporal.address, '--queues', spec.temporal.taskQueues.aux], { stdio: ['ignore', fd, fd] });
const connection = await Connection.connect({ address: temporal.address });
const client = new Client({ connection });
const workflowId = sweepIdOf(spec);
const input: SweepInput = { spec };

const running = async () => {
  for (;;) {
    const p = await client.workflow
      .getHandle(workflowId)
      .query(progressQuery)
      .catch(() => undefined);
    if (p && p.status !== 'planning') return p;
    await new Promise((r) => setTimeout(r, 200));
  }
};
const time = async <T>(what: string, f: () => Promise<T>): Promise<[number, T]> => {
  const t0 = performance.now();
  const v = await f();
  const s = (performance.now() - t0) / 1000;
  log(`${what}: ${s.toFixed(1)} s`);
  return [s, v];
};
try {
  const [planStart, p] = await time('plan and start', async () => {
    await client.workflow.start(sweepWorkflow, { taskQueue: spec.temporal.taskQueues.aux, workflowId, args: [input] });
    return running();
  });
  const [cancel] = await time('cancel', async () => {
    const h = client.workflow.getHandle(workflowId);
    await h.cancel();
    await h.result().catch(() => {});
  });
  const [resume] = await time('resume (plan again and start)', async () => {
    await client.workflow.start(sweepWorkflow, { taskQueue: spec.temporal.taskQueues.aux, workflowId, args: [input], workflowIdReusePolicy: 'ALLOW_DUPLICATE' });
    return running();
  });
  const sizes: number[] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.payloads)) for (const x of o.payloads as Array<{ data?: Uint8Array | null }>) sizes.push(x.data?.length ?? 0);
    Object.values(o).forEach(walk);
  };
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) walk(await client.workflow.getHandle(workflowId, w.runId).fetchHistory());
  await client.workflow.getHandle(workflowId).cancel();
  const pointer = JSON.parse(readFileSync(path.join(spec.storage.uri, sweepPlanKey(workflowId)), 'utf8')) as { plan: string };
  const plan = path.join(spec.storage.uri, pointer.plan);
  // The SDK's payload size warnings (not its slow-workflow-task notices, which also list payload counters).
  const warnings = readFileSync(workerLog, 'utf8')
    .split('\n')
    .filter((l) => /payload/i.test(l) && /(exceed|over).*(limit|size)/i.test(l) && !l.includes('TMPRL1104')).length;
  process.stdout.write(
    `${JSON.stringify({ units: p.total, planAndStartSeconds: planStart, cancelSeconds: cancel, resumeSeconds: resume, planBytes: statSync(plan).size, largestPayloadBytes: Math.max(...sizes), payloadWarnings: warnings }, null, 1)}\n`,
  );
} finally {
  await connection.close();
  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
  await temporal.stop();
}
