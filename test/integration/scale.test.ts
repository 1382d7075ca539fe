// The scale run (bench/scale.ts) at a size the suite can afford: short units over several worker
// processes on the real Temporal server, workers added, drained and killed mid-sweep; nothing is lost
// or duplicated in the store.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('scale', () => {
  it('completes 200 short units through worker churn with every result stored exactly once', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', 'bench/scale.ts', '--units', '200', '--concurrency', '16'], { maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(r.units).toBe(200);
    expect(r.missing).toBe(0);
    expect(r.extra).toBe(0);
    expect(r.workersStarted).toBe(5);
  }, 300_000);
});
