// The bad-input suite: every case in cases.ts ends with exit 2, its error code in brackets on the last line,
// no stack trace (nor a library's source), and the sandbox exactly as before: nothing created or changed.
import { afterAll, describe, expect, it } from 'vitest';
import { CASES } from './cases.js';
import { cleanUp, runCase } from './run-case.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanUp));

describe('bad inputs', () => {
  it('has at least 100 cases over every kind of input', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    const names = CASES.map((c) => `${c.group}: ${c.name}`);
    expect(new Set(names).size).toBe(names.length);
    for (const g of ['cli arguments', 'model directories', 'corpora', 'checkpoints', 'sweep files', 'storage', 'temporal', 'vectors files']) {
      expect(
        CASES.some((c) => c.group === g),
        g,
      ).toBe(true);
    }
  });

  for (const c of CASES) {
    it(`${c.group}: ${c.name}`, { timeout: 90_000 }, async () => {
      const r = await runCase(c);
      dirs.push(r.dir);
      const last = r.stderr.trimEnd().split('\n').at(-1) ?? '';
      expect(r.exitCode, r.stderr).toBe(2);
      expect(last, r.stderr).toMatch(new RegExp(`^dreamsweep: .*\\[${c.code}\\]$`));
      expect(r.stderr.length, 'a library source dump').toBeLessThan(4_000);
      expect(r.stderr).not.toMatch(/\n\s+at \S/); // no stack trace
      expect(r.after).toEqual(r.before);
    });
  }
});
