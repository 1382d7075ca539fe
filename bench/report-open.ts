// How long the report of a big sweep takes to open in headless Chromium: a sweep store with --targets neuron
// targets (each with --seeds finished EPO runs of --iters iterations of --rows candidates, and a scan feature
// with --top windows), aggregated and built as `dreamsweep report` does, then report.html opened --repeat times
// over the DevTools protocol (--remote-debugging-pipe): the page's own navigation timing (DOMContentLoaded,
// load), first contentful paint, the wall time from navigate to the load event, and the time a link of the index
// takes to open its (folded) section. Prints one JSON object.
// Usage: npm run bench:report-open -- [--targets 300] [--seeds 2] [--iters 60] [--rows 32] [--top 64] [--repeat 3]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SCAN_VERSION, type FeatureJson, type ScanResult } from '../core/corpus/result.js';
import { encodeHistory, History } from '../core/epo/history.js';
import { targetKeyJson, targetLabelOf } from '../core/objectives/kinds/index.js';
import { aggregateSweep, buildReport } from '../core/report/index.js';
import { Rng } from '../core/rng.js';
import { LogHistogram, QUANTILES } from '../core/stats/histogram.js';
import { Moments } from '../core/stats/moments.js';
import { LocalStore } from '../core/store/index.js';
import { planUnits, resultKey, type SweepPlan } from '../core/sweep/plan.js';
import { parseSweep } from '../core/sweep/spec.js';

const { values: args } = parseArgs({
  options: {
    targets: { type: 'string', default: '300' },
    seeds: { type: 'string', default: '2' },
    iters: { type: 'string', default: '60' },
    rows: { type: 'string', default: '32' },
    top: { type: 'string', default: '64' },
    n: { type: 'string', default: '12' },
    repeat: { type: 'string', default: '3' },
  },
});
const T = Number(args.targets);
const S = Number(args.seeds);
const iters = Number(args.iters);
const R = Number(args.rows);
const K = Number(args.top);
const n = Number(args.n);

// 1. A sweep store: plan, finished EPO units of every neuron target, and a merged scan with their features.
const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-report-open-'));
const store = new LocalStore(path.join(dir, 'store'));
const neurons = Array.from({ length: T }, (_, i) => `{ layer: ${i % 6}, index: ${i} }`).join(', ');
const spec = parseSweep(
  `
name: report-open
model: { path: /models/none }
study: { layers: [0], vectors: { count: 1, seed: 0 }, seqLen: ${n} }
methods:
  scan: { corpus: /corpus/none.jsonl, tokens: 100000, shards: 1, top: ${K}, batchSize: 8 }
  epo: { runsPerVector: 1, iters: ${iters}, population: 4, children: 8, topk: 8, batchSize: 16 }
targets:
  neurons: [${neurons}]
  seeds: [${Array.from({ length: S }, (_, i) => i).join(', ')}]
storage: { uri: /store/none }
`,
  '/sweeps/report-open.yaml',
);
const units = planUnits(spec, 'model-bench', 'vectors/bench.json', new Map([[0, 1]]));
const plan: SweepPlan = {
  sweepId: 'report-open-0123456789ab',
  spec,
  modelId: 'model-bench',
  shape: { nLayers: 6, dModel: 8, dMlp: 512, dVocab: 50000 },
  vectorsKey: 'vectors/bench.json',
  units,
};
await store.put(`sweeps/${plan.sweepId}/plan.json`, JSON.stringify(plan));
const rng = Rng.seeded(1);
const words = (ids: number[]) => ids.map((i) => ` w${i}`).join('');
const features: FeatureJson[] = [];
const t0 = performance.now();
for (const u of units) {
  if (u.spec.kind !== 'epo' || u.spec.target.kind === 'resid') continue;
  const h = new History(n, [0.1, 1, 10, 30]);
  for (let t = 0; t < iters; t++) {
    h.push({
      ids: Int32Array.from({ length: R * n }, () => rng.int(50_000)),
      f: Float32Array.from({ length: R }, () => 3 * rng.float() + (4 * t) / iters),
      ce: Float32Array.from({ length: R }, () => 2 + 6 * rng.float()),
      valid: new Uint8Array(R).fill(1),
      keep: Int32Array.from([0, 1, 2, 3]),
      restartLambda: Number.NaN,
    });
  }
  await store.put(`${u.key}/history.safetensors`, encodeHistory(h, { unit: u.id }));
  await store.put(`${u.key}/frontier.json`, JSON.stringify({ points: [] }));
  await store.put(resultKey(u), '{}');
  if (u.spec.seed !== 0) continue;
  const m = new Moments();
  const hist = new LogHistogram();
  for (let w = 0; w < 2000; w++) {
    const x = rng.float() < 0.5 ? 0 : Math.abs(rng.normal());
    m.add(x);
    hist.add(x);
  }
  const top = Array.from({ length: K }, () => {
    const ids = Array.from({ length: n }, () => rng.int(50_000));
    const activations = Array.from({ length: n }, () => 3 * rng.float());
    return { ids, text: words(ids), activation: activations[n - 1]!, ce: 2 + 4 * rng.float(), source: { file: 'c.jsonl', byteOffset: rng.int(1e6), token: 0 }, activations };
  }).sort((a, b) => b.activation - a.activation);
  features.push({
    key: targetKeyJson(u.spec.target),
    kind: 'neuron',
    label: targetLabelOf(u.spec.target),
    count: m.count,
    excluded: 0,
    mean: m.mean(),
    std: m.std(),
    min: m.min,
    max: top[0]!.activation,
    moments: m.toJSON(),
    histogram: hist.toJSON(),
    quantiles: QUANTILES.map((q) => ({ q, value: hist.quantile(q) })),
    top,
  });
}
const merge = units.find((u) => u.spec.kind === 'scan-merge')!;
const scan = {
  format: 'dreamsweep.scan',
  version: SCAN_VERSION,
  config: { n, stride: n, k: K, textField: 'text', skipBad: false, targets: [] },
  shards: [],
  stoppedBy: 'end',
  windows: 2000,
  tokens: 2000 * n,
  documents: 100,
  documentTokens: 2000 * n,
  skipped: { count: 0, byCode: {}, examples: [] },
  ce: { count: 0, mean: null, std: null, min: null, max: null, moments: new Moments().toJSON(), histogram: { width: 0.05, counts: [] }, byLength: [] },
  pairs: [],
  features,
} as unknown as ScanResult;
await store.put(`${merge.key}/scan.json`, JSON.stringify(scan));
await store.put(resultKey(merge), '{}');
const storeSeconds = (performance.now() - t0) / 1000;

// 2. The report, as `dreamsweep report` builds it (with a decoder, so every token is text).
const t1 = performance.now();
const data = await aggregateSweep(store, plan.sweepId, { decode: words });
const aggregateSeconds = (performance.now() - t1) / 1000;
const t2 = performance.now();
const files = await buildReport(data);
const buildSeconds = (performance.now() - t2) / 1000;
const html = path.join(dir, 'report.html');
writeFileSync(html, files['report.html']!);

// 3. Open it in headless Chromium over the DevTools protocol (NUL-separated JSON on fds 3 and 4).
const chrome = spawn(
  'chromium',
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--remote-debugging-pipe',
    `--user-data-dir=${path.join(dir, 'chrome')}`,
    'about:blank',
  ],
  { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
);
const toChrome = chrome.stdio[3] as NodeJS.WritableStream;
const fromChrome = chrome.stdio[4] as NodeJS.ReadableStream;
let nextId = 1;
const waiting = new Map<number, (m: { result?: unknown; error?: unknown }) => void>();
const listeners: Array<(m: { method: string; sessionId?: string }) => void> = [];
let buffer = '';
fromChrome.on('data', (chunk: Buffer) => {
  buffer += chunk.toString('utf8');
  let at: number;
  while ((at = buffer.indexOf('\0')) >= 0) {
    const msg = JSON.parse(buffer.slice(0, at));
    buffer = buffer.slice(at + 1);
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg);
    else for (const l of listeners) l(msg);
  }
});
const send = <Result>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Result> =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, (m) => (m.error ? reject(new Error(`${method}: ${JSON.stringify(m.error)}`)) : resolve(m.result as Result)));
    toChrome.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
  });
const event = (method: string, sessionId: string) =>
  new Promise<void>((resolve) => {
    const l = (m: { method: string; sessionId?: string }) => {
      if (m.method === method && m.sessionId === sessionId) {
        listeners.splice(listeners.indexOf(l), 1);
        resolve();
      }
    };
    listeners.push(l);
  });

interface Timing {
  wallToLoadMs: number;
  domContentLoadedMs: number;
  loadMs: number;
  firstContentfulPaintMs: number | null;
  /** From setting the fragment of an index link to two frames later, with its section open. */
  openSectionMs: number;
}
const runs: Timing[] = [];
try {
  for (let i = 0; i < Number(args.repeat); i++) {
    const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    await send('Page.enable', {}, sessionId);
    const loaded = event('Page.loadEventFired', sessionId);
    const start = performance.now();
    await send('Page.navigate', { url: pathToFileURL(html).href }, sessionId);
    await loaded;
    const wallToLoadMs = performance.now() - start;
    // Two animation frames after load: the first paint has happened.
    await send('Runtime.evaluate', { expression: 'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))', awaitPromise: true }, sessionId);
    const { result } = await send<{ result: { value: string } }>(
      'Runtime.evaluate',
      {
        expression:
          'JSON.stringify({ nav: performance.getEntriesByType("navigation")[0].toJSON(), fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null })',
        returnByValue: true,
      },
      sessionId,
    );
    const { nav, fcp } = JSON.parse(result.value) as { nav: { domContentLoadedEventEnd: number; loadEventEnd: number }; fcp: number | null };
    // Following an index link: the fragment opens the middle target's folded section; time to the next frame.
    const middle = Math.floor(data.targets.length / 2);
    const { result: link } = await send<{ result: { value: string } }>(
      'Runtime.evaluate',
      {
        expression: `(async () => { const t = performance.now(); location.hash = '#feature-${middle}'; await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))); return JSON.stringify({ ms: performance.now() - t, open: document.getElementById('feature-${middle}').closest('details').open }); })()`,
        awaitPromise: true,
        returnByValue: true,
      },
      sessionId,
    );
    const section = JSON.parse(link.value) as { ms: number; open: boolean };
    if (!section.open) throw new Error(`following #feature-${middle} left its section folded`);
    runs.push({ wallToLoadMs, domContentLoadedMs: nav.domContentLoadedEventEnd, loadMs: nav.loadEventEnd, firstContentfulPaintMs: fcp, openSectionMs: section.ms });
    await send('Target.closeTarget', { targetId });
  }
} finally {
  // Chromium writes its profile until it exits: wait for that before removing the folder.
  const exited = new Promise((resolve) => chrome.once('exit', resolve));
  await send('Browser.close').catch(() => chrome.kill());
  await exited;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify(
    {
      targets: data.targets.length,
      seeds: S,
      iterations: iters,
      rowsPerIteration: R,
      topWindows: K,
      htmlBytes: statSync(html).size,
      reportJsonBytes: Buffer.byteLength(files['report.json'] as string),
      seconds: { writeStore: round(storeSeconds), aggregate: round(aggregateSeconds), build: round(buildSeconds) },
      open: {
        repeats: runs.length,
        medianWallToLoadMs: round(median(runs.map((r) => r.wallToLoadMs))),
        medianDomContentLoadedMs: round(median(runs.map((r) => r.domContentLoadedMs))),
        medianLoadMs: round(median(runs.map((r) => r.loadMs))),
        medianOpenSectionMs: round(median(runs.map((r) => r.openSectionMs))),
        medianFirstContentfulPaintMs: runs.every((r) => r.firstContentfulPaintMs !== null) ? round(median(runs.map((r) => r.firstContentfulPaintMs!))) : null,
        runs: runs.map((r) => ({
          wallToLoadMs: round(r.wallToLoadMs),
          domContentLoadedMs: round(r.domContentLoadedMs),
          loadMs: round(r.loadMs),
          firstContentfulPaintMs: r.firstContentfulPaintMs,
        })),
      },
    },
    null,
    1,
  ),
);
if (process.env.KEEP_REPORT) console.error(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
