// The test runner strips types without checking them, so the suite runs the compiler itself: strict mode,
// no unused locals or parameters, over every folder tsconfig.json includes.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('type-checks the whole project with tsc --noEmit', async () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json'], { maxBuffer: 16 << 20 }).then(
    () => '',
    (e: { stdout?: string; message: string }) => e.stdout || e.message,
  );
  expect(result).toBe('');
}, 180_000);
