// Every locked package with an install script is named in package.json's allowScripts (npm 11's policy),
// so `npm ci` neither warns nor, under --strict-allow-scripts or a stricter npm, fails or skips one the
// CLI needs. CI runs `npm ci --strict-allow-scripts` on a fresh clone and then loads esbuild and webgpu.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean; version: string }> };

const withScripts = Object.entries(lock.packages)
  .filter(([, p]) => p.hasInstallScript)
  .map(([key]) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length));

describe('allowScripts', () => {
  it('covers every locked package that has an install script, and nothing else', () => {
    expect(withScripts.length).toBeGreaterThan(0);
    expect(Object.keys(pkg.allowScripts ?? {}).sort()).toEqual([...new Set(withScripts)].sort());
  });

  it("runs the scripts the CLI and the webgpu backend need (esbuild's binary check, webgpu's, swc's fallback)", () => {
    expect(pkg.allowScripts).toMatchObject({ esbuild: true, webgpu: true, '@swc/core': true });
  });

  it('uses entries npm accepts: bare names or exact versions, never ranges', () => {
    for (const key of Object.keys(pkg.allowScripts ?? {})) expect(key).toMatch(/^(@[^/]+\/)?[^@]+(@\d+\.\d+\.\d+(\s*\|\|\s*\d+\.\d+\.\d+)*)?$/);
  });
});
