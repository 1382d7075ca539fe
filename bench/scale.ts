// Scale run on one machine against the real Temporal dev server: a sweep of N short EPO units (one
// iteration each on the tiny fixture model, plus the closing report unit) over several worker processes, with workers added, drained
// (SIGTERM) and killed (kill -9) while it runs. Checks that every unit's result is in the store exactly
// once, and prints units/s and the orchestration overhead per unit as JSON, with where the CPU went (the
// Temporal server, the workers, the launcher following the sweep; Linux /proc) and the machine's load.
// Usage: tsx bench/scale.ts [--units 1000] [--concurrency 32] [--worker-concurrency 4]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { stringify } from 'yaml';
import { startTemporal } from '../infra/servers.js';
import { openStore } from '../core/store/index.js';
import { resultKey } from '../core/sweep/plan.js';
import { readSweepPlan } from '../core/sweep/plans.js';

const { values: args } = parseArgs({
  options: {
    units: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    'worker-concurrency': { type: 'string', default: '4' },
  },
});
const units = Number(args.units);
const BIN = path.resolve('bin/dreamsweep.js');
const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-scale-'));
const logDir = path.join(dir, 'logs');
const log = (line: string) => process.stderr.write(`[scale] ${line}\n`);

const loadBefore = loadavg();
const temporal = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite'), logDir });
const workers: ChildProcess[] = [];

// CPU seconds (user + system, all threads) per process, sampled each second: a killed process keeps its last figure.
const cpu = new Map<number, { role: string; seconds: number }>();
const ticksPerSecond = 100; // USER_HZ on Linux
const sampleCpu = () => {
  for (const [pid, p] of cpu) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      p.seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    } catch {
      // gone (or no /proc): keep the last figure
    }
  }
};
const watchCpu = (pid: number | undefined, role: string) => pid && cpu.set(pid, { role, seconds: 0 });
watchCpu(temporal.pid, 'temporal');
const sampler = setInterval(sampleCpu, 1_000);
try {
  const storage = path.join(dir, 'artifacts');
  const file = path.join(dir, 'scale.yaml');
  writeFileSync(
    file,
    stringify({
      name: 'scale',
      model: { path: path.resolve('test/fixtures/models/tiny-parallel') },
      study: { layers: [1], vectors: { count: units, seed: 0 }, seqLen: 4 },
      methods: { epo: { iters: 1, population: 2, children: 2, topk: 4, restartEvery: 0, checkpointEvery: 1 } },
      storage: { uri: storage },
      temporal: { address: temporal.address, heartbeatTimeout: 10 },
      concurrency: { units: Number(args.concurrency) },
    }),
  );
  const startWorker = (name: string) => {
    const fd = openSync(path.join(logDir, `${name}.log`), 'a');
    const p = spawn(process.execPath, [BIN, 'worker', '--temporal-address', temporal.address, '--concurrency', String(args['worker-concurrency']), '--shutdown-grace', '2'], {
      stdio: ['ignore', fd, fd],
    });
    workers.push(p);
    watchCpu(p.pid, 'workers');
    log(`started ${name} (pid ${p.pid})`);
    return p;
  };
  startWorker('w1');
  startWorker('w2');

  const t0 = performance.now();
  const launch = spawn(process.execPath, [BIN, 'sweep', 'launch', file, '--wait'], { stdio: ['ignore', 'pipe', 'pipe'] });
  watchCpu(launch.pid, 'launcher');
  let out = '';
  launch.stdout.on('data', (d) => (out += d));
  launch.stderr.on('data', (d) => (out += d));
  const ended = new Promise<number | null>((r) => launch.on('exit', r));

  // Churn while it runs: add two workers, drain one, kill one.
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(8_000);
  startWorker('w3');
  startWorker('w4');
  await sleep(8_000);
  workers[0]!.kill('SIGTERM');
  log('drained w1 (SIGTERM)');
  await sleep(5_000);
  workers[1]!.kill('SIGKILL');
  log('killed w2 (kill -9)');
  startWorker('w5');

  const code = await ended;
  const seconds = (performance.now() - t0) / 1000;
  sampleCpu();
  clearInterval(sampler);
  if (code !== 0) throw new Error(`sweep failed (exit ${code}):\n${out}`);

  const store = openStore(storage);
  const sweepId = readdirSync(path.join(storage, 'sweeps'))[0]!;
  const plan = await readSweepPlan(store, sweepId);
  const results = new Set((await store.list('units/')).filter((k) => k.endsWith('/result.json')));
  const planned = new Set(plan.units.map((u) => resultKey(u)));
  const missing = [...planned].filter((k) => !results.has(k)).length;
  const extra = [...results].filter((k) => !planned.has(k)).length;
  // Time inside each activity (store reads and writes plus one EPO iteration), from the run records.
  const limit = pLimit(16);
  const runs = await Promise.all(
    plan.units.filter((u) => u.kind === 'epo').map((u) => limit(async () => JSON.parse(Buffer.from((await store.get(`${u.key}/run.json`))!).toString('utf8')))),
  );
  const activitySeconds = runs.reduce((a, r) => a + (Date.parse(r.finished) - Date.parse(r.started)) / 1000, 0) / units;
  const wallSeconds = seconds / units;
  // The report unit (the sweep's last, over every result): its result's time after the last EPO result's.
  const mtime = (u: { key: string }) => statSync(path.join(storage, resultKey(u))).mtimeMs;
  const report = plan.units.find((u) => u.kind === 'report')!;
  const reportSeconds = (mtime(report) - plan.units.filter((u) => u.kind === 'epo').reduce((a, u) => Math.max(a, mtime(u)), 0)) / 1000;
  const cpuPerUnit: Record<string, number> = {};
  for (const { role, seconds: s } of cpu.values()) cpuPerUnit[role] = (cpuPerUnit[role] ?? 0) + s / units;
  const window = Number(args.concurrency);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'scale',
      units,
      window,
      workerConcurrency: Number(args['worker-concurrency']),
      workersStarted: workers.length,
      churn: ['+w3', '+w4', 'SIGTERM w1', 'kill -9 w2', '+w5'],
      seconds: Number(seconds.toFixed(2)),
      unitsPerSecond: Number((units / seconds).toFixed(2)),
      missing,
      extra,
      wallSecondsPerUnit: Number(wallSeconds.toFixed(4)),
      activitySecondsPerUnit: Number(activitySeconds.toFixed(4)),
      // Wall time per unit beyond its share of activity work spread over the window: scheduling, polling,
      // history, retries after the churn.
      orchestrationSecondsPerUnit: Number(Math.max(0, wallSeconds - activitySeconds / window).toFixed(4)),
      reportSeconds: Number(reportSeconds.toFixed(2)),
      cpuSecondsPerUnit: Object.fromEntries(Object.entries(cpuPerUnit).map(([k, v]) => [k, Number(v.toFixed(4))])),
      cores: availableParallelism(),
      loadAverage: { before: loadBefore.map((x) => Number(x.toFixed(2))), after: loadavg().map((x) => Number(x.toFixed(2))) },
    })}\n`,
  );
  if (missing || extra) process.exitCode = 1;
} finally {
  clearInterval(sampler);
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await temporal.stop();
  rmSync(dir, { recursive: true, force: true });
}
