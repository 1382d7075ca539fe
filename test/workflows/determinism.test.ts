// The lint rule for workflow code: workflows/ may import only @temporalio/workflow, other workflow files,
// and types. Node built-ins, clocks and I/O belong in activities.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = path.resolve('workflows');

describe('workflow code', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    it(`${file} imports nothing non-deterministic`, () => {
      const src = readFileSync(path.join(dir, file), 'utf8');
      const imports = [...src.matchAll(/^(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gms)].map((m) => ({ typeOnly: !!m[2], from: m[3]! }));
      for (const { typeOnly, from } of imports) {
        if (typeOnly) continue;
        const ok = from === '@temporalio/workflow' || (from.startsWith('./') && !from.includes('/../'));
        expect(ok, `${file} imports ${from} at run time; workflow code may only import @temporalio/workflow, ./ siblings, and types`).toBe(true);
      }
      expect(src).not.toMatch(/\bDate\.now\(|Math\.random\(|process\.|setTimeout\(/);
    });
  }
});
